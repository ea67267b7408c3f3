"""The knowledge base's loader: typed records, and one-line errors for malformed fact rows."""

import json
import shutil

import pytest

from repro_core import kb
from repro_core.errors import ReproError


def _copy(tmp_path, name):
    """A copy of the packaged ``name.json`` in tmp_path, parsed, to break and write back."""
    shutil.copy(kb.DATA / f"{name}.json", tmp_path / f"{name}.json")
    return json.loads((tmp_path / f"{name}.json").read_text())


def _write(tmp_path, name, data):
    (tmp_path / f"{name}.json").write_text(json.dumps(data))


def _error(fn, tmp_path):
    with pytest.raises(ReproError) as e:
        fn(tmp_path)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_a_copy_loads_like_the_packaged_file(tmp_path):
    _copy(tmp_path, "torch_releases")
    assert kb.torch_releases(tmp_path) == kb.torch_releases()


def test_wrong_type_names_file_row_and_field(tmp_path):
    data = _copy(tmp_path, "torch_releases")
    data["releases"][11]["python"]["max"] = 3.9  # the 1.10 row; a number, not "3.9"
    _write(tmp_path, "torch_releases", data)
    msg = _error(kb.torch_releases, tmp_path)
    assert msg == (f"{tmp_path / 'torch_releases.json'}: releases[11] (1.10): field python.max: "
                   f"expected a string, got 3.9")


def test_misspelt_field_is_reported(tmp_path):
    data = _copy(tmp_path, "cuda_toolkits")
    row = data["toolkits"][9]
    row["min_drivr"] = row.pop("min_driver")
    _write(tmp_path, "cuda_toolkits", data)
    msg = _error(kb.cuda_toolkits, tmp_path)
    assert msg.startswith(f"{tmp_path / 'cuda_toolkits.json'}: toolkits[9] (11.3): field ")
    assert "min_drivr: unknown field" in msg


def test_missing_field_is_reported(tmp_path):
    data = _copy(tmp_path, "python_packages")
    del data["numpy"][5]["python"]
    _write(tmp_path, "python_packages", data)
    msg = _error(kb.numpy_releases, tmp_path)
    assert msg == (f"{tmp_path / 'python_packages.json'}: numpy[5] (1.21.0): field python: "
                   f"missing")


def test_bad_value_inside_a_map_names_the_key(tmp_path):
    data = _copy(tmp_path, "gpus")
    fam = data["families"][3]  # Volta
    fam["gpus"]["V100"] = "7.x"
    _write(tmp_path, "gpus", data)
    msg = _error(kb.gpu_families, tmp_path)
    assert msg == (f"{tmp_path / 'gpus.json'}: families[3] (Volta): field gpus['V100']: "
                   f"expected a compute capability such as 8.9, got '7.x'")


def test_bad_entry_in_a_list_field(tmp_path):
    data = _copy(tmp_path, "torch_releases")
    data["releases"][0]["cuda_variants"][1] = "cuda101"
    _write(tmp_path, "torch_releases", data)
    msg = _error(kb.torch_releases, tmp_path)
    assert "releases[0] (0.4): field cuda_variants[1]: expected a wheel variant" in msg


def test_invalid_json_names_the_line(tmp_path):
    (tmp_path / "pythons.json").write_text('{"pythons": [\n {"version": "3.8"},\n]}\n')
    msg = _error(kb.pythons, tmp_path)
    assert msg.startswith(f"{tmp_path / 'pythons.json'}:3: invalid JSON")


def test_records_are_frozen():
    row = kb.torch_release("1.10")
    with pytest.raises(AttributeError):
        row.version = "1.11"  # type: ignore[misc]


def test_queries():
    assert kb.torch_release("1.10").arch_lists["cu113"] == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"
    assert kb.torch_release("1.8").arch_lists_at("1.8.0")["cu111"] == "5.0;7.0;8.0;8.6"
    assert kb.torch_release("1.8").arch_lists_at("1.8.1")["cu111"] == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"
    assert kb.cuda_toolkit("11.3").min_driver == "465.19.01"
    with pytest.raises(ReproError,
                       match=r"^CUDA 14.7 is not in the knowledge base \(known: 8.0, 9.0, 9.2,"):
        kb.cuda_toolkit("14.7")
    assert kb.gpu("NVIDIA GeForce RTX 4090") == kb.Gpu("RTX 4090", "8.9", "Ada Lovelace")
    assert kb.gpu("Radeon") is None and kb.gpu("") is None
    assert "8.7" in kb.gpu_ccs(discrete_only=False) and "8.7" not in kb.gpu_ccs()
    assert kb.numpy_release("1.21.6").version == "1.21.0"
    assert kb.timm_release("0.3.3").version == "0.3.2" and kb.timm_release("0.1") is None
    assert kb.distribution_for_import("cv2") == "opencv-python"
    assert "os" in kb.import_map().stdlib
    # the list plan.py held as code before it became data
    assert kb.python_versions() == ("2.7",) + tuple(f"3.{m}" for m in range(5, 15))
    assert kb.named_arches()["Ampere"] == "8.0;8.6+PTX"


def test_cuda_image_rows_are_checked(tmp_path):
    data = _copy(tmp_path, "cuda_images")
    assert kb.cuda_images(tmp_path) == kb.cuda_images()
    data["images"][0]["tags"].append("12.1.0-devel-ubuntu22.04")  # another CUDA's tag
    _write(tmp_path, "cuda_images", data)
    kb.cuda_images.cache_clear()
    msg = _error(kb.cuda_images, tmp_path)
    assert msg == (f"{tmp_path / 'cuda_images.json'}: images[0] ({data['images'][0]['cuda']}): "
                   f"field tags: '12.1.0-devel-ubuntu22.04' is of another CUDA version")
    data["images"][0]["status"] = "gone"
    _write(tmp_path, "cuda_images", data)
    kb.cuda_images.cache_clear()
    assert "field status: expected supported or unsupported" in _error(kb.cuda_images, tmp_path)


def test_diagnostics_rows_are_checked(tmp_path):
    data = _copy(tmp_path, "diagnostics")
    assert kb.diagnostics.__wrapped__(tmp_path) == kb.diagnostics()  # (not cached)
    path = tmp_path / "diagnostics.json"
    data["diagnostics"][0]["fix"]["kind"] = "upgrade"
    _write(tmp_path, "diagnostics", data)
    assert _error(kb.diagnostics.__wrapped__, tmp_path) == (
        f"{path}: diagnostics[0] (no-kernel-image): field fix.kind: expected one of pin, "
        "migrate, env, arch, install, build, got 'upgrade'")
    data = _copy(tmp_path, "diagnostics")
    data["diagnostics"][2]["regex"][1] = "_ARRAY_API (not found"
    _write(tmp_path, "diagnostics", data)
    msg = _error(kb.diagnostics.__wrapped__, tmp_path)
    assert msg.startswith(f"{path}: diagnostics[2] (numpy-abi): field regex[1]: invalid regular")
    data = _copy(tmp_path, "diagnostics")
    del data["diagnostics"][7]["subject"]
    _write(tmp_path, "diagnostics", data)
    assert _error(kb.diagnostics.__wrapped__, tmp_path) == (
        f"{path}: diagnostics[7] (module-not-found): 'link' and 'subject' go together")
