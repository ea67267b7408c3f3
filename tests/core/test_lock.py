"""repro_core.lock: pins, lock text, the PyTorch index overlay, and real uv resolutions."""

import json
import re

import pytest

from repro_core.errors import ReproError
from repro_core.lock import (
    Lock,
    Pin,
    _req_file_lines,
    exclude_newer,
    lock_requirements,
    parse_pins,
    read_lock,
    wheel_hashes,
)

H1 = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64


def test_exclude_newer_is_the_next_utc_midnight():
    assert exclude_newer("2021-11-11") == "2021-11-12T00:00:00Z"
    assert exclude_newer("2020-12-31") == "2021-01-01T00:00:00Z"
    assert exclude_newer("2020-02-28") == "2020-02-29T00:00:00Z"


def test_parse_pins_reads_continuations_markers_and_index_lines():
    text = (
        "# header\n--extra-index-url https://download.pytorch.org/whl/cu113\n"
        f"numpy==1.21.4 \\\n    --hash={H1} \\\n    --hash={H2}\n"
        "    # via torch\n"
        'colorama==0.4.4 ; sys_platform == "win32"\n'
        "torch==1.10.0+cu113\n"
        "requests>=2\n")
    pins, urls = parse_pins(text)
    assert urls == ("https://download.pytorch.org/whl/cu113",)
    assert pins[0] == Pin("numpy", "1.21.4", (H1, H2))
    assert pins[1].name == "colorama" and pins[1].marker == 'sys_platform == "win32"'
    assert pins[2] == Pin("torch", "1.10.0+cu113", ())
    assert pins[3] == Pin("requests", "", ())


def test_lock_text_and_json_round_trip(tmp_path):
    lk = Lock(pins=(Pin("numpy", "1.18.5", (H1,)), Pin("torch", "1.10.0+cu113", (),
                                                         index="https://x/cu113")),
              date="2020-06-01", python="3.8", platform="linux", variant="cu113",
              source="reqs.txt", index_urls=("https://x/cu113",), warnings=("w",))
    text = lk.text()
    assert text.startswith("# repro lock (repro ")
    assert "# date cutoff: 2020-06-01" in text and "# variant: cu113" in text
    assert "# unhashed: torch" in text
    assert f"numpy==1.18.5 \\\n    --hash={H1}\n" in text
    assert Lock.from_json(lk.to_json()) == lk
    path = tmp_path / "requirements.lock"
    path.write_text(text)
    back = read_lock(str(path))
    assert [(p.name, p.version, p.hashes) for p in back.pins] == [
        ("numpy", "1.18.5", (H1,)), ("torch", "1.10.0+cu113", ())]
    assert (back.date, back.python, back.platform, back.variant, back.index_urls) == (
        "2020-06-01", "3.8", "linux", "cu113", ("https://x/cu113",))


def test_wheel_hashes_pick_the_targets_wheels_from_an_index_page():
    f1, f2 = H1.replace(":", "="), H2.replace(":", "=")
    page = "\n".join([
        f'<a href="/whl/cu113/torch-1.10.0%2Bcu113-cp39-cp39-linux_x86_64.whl#{f1}">',
        f'<a href="/whl/cu113/torch-1.10.0%2Bcu113-cp38-cp38-linux_x86_64.whl#{f2}">',
        '<a href="/whl/cu113/torch-1.10.0%2Bcu113-cp39-cp39-win_amd64.whl#sha256=cc">',
        '<a href="/whl/cu113/torch-1.10.1%2Bcu113-cp39-cp39-linux_x86_64.whl#sha256=dd">',
        '<a href="/whl/cu113/torch-1.10.0%2Bcu113-cp39-cp39-linux_x86_64.whl">'])
    assert wheel_hashes(page, "torch", "1.10.0+cu113", "3.9", "linux") == (H1,)
    assert wheel_hashes(page, "torch", "1.10.0+cu113", "3.8", "linux") == (H2,)
    assert wheel_hashes(page, "torch", "1.10.0+cu113", "3.7", "linux") == ()


def test_requirement_files_lose_pytorch_links_and_keep_includes(tmp_path):
    (tmp_path / "base.txt").write_text("pyyaml\n")
    req = tmp_path / "requirements.txt"
    req.write_text("-f https://download.pytorch.org/whl/torch_stable.html\n"
                   "torch==1.10.0+cu113  # the paper's build\n-r base.txt\nopencv-python\n")
    lines, variant = _req_file_lines(str(req))
    assert variant == "cu113"
    assert lines == ["torch==1.10.0", f"-r {tmp_path / 'base.txt'}", "opencv-python"]


@pytest.mark.parametrize("kw, msg", [({"date": "2021-13-01"}, "YYYY-MM-DD"),
                                     ({"python": "39"}, "X.Y"),
                                     ({"variant": "cuda11"}, "cpu or cuXYZ")])
def test_bad_options_are_one_line_errors(kw, msg):
    args = {"date": "2021-11-11", "python": "3.9", **kw}
    with pytest.raises(ReproError, match=msg):
        lock_requirements(["numpy"], **args)


def test_an_unreachable_registry_is_one_line(monkeypatch):
    from repro_core.uvtool import uv_bin

    try:
        uv_bin()
    except ReproError as e:
        pytest.skip(str(e))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(ReproError) as e:
        lock_requirements(["numpy"], date="2021-11-11", python="3.9",
                          index_url="http://127.0.0.1:9/simple")
    assert "\n" not in str(e.value)
    assert "127.0.0.1:9" in str(e.value) and "refused" in str(e.value).lower()


@pytest.mark.network
def test_torch_and_timm_as_of_2021_11_11_for_python_39_cu113(registry):
    lk = lock_requirements(["torch", "timm"], date="2021-11-11", python="3.9", variant="cu113")
    assert lk.pin("torch").version == "1.10.0+cu113"
    assert lk.pin("torchvision").version == "0.11.1+cu113"  # timm needs it; 0.11.1 pairs 1.10.0
    assert lk.pin("timm").version == "0.4.12"
    assert lk.index_urls == ("https://download.pytorch.org/whl/cu113",)
    for p in lk.pins:
        assert all(re.match(r"^sha256:[0-9a-f]{64}$", h) for h in p.hashes)
        if p.name not in ("torch", "torchvision"):
            assert p.hashes, p.name  # the registry's pins are always hashed
    if lk.unhashed:  # the PyTorch index was not reachable: one warning names both
        assert set(lk.unhashed) == {"torch", "torchvision"}
        assert len(lk.warnings) == 1 and "torch==1.10.0+cu113" in lk.warnings[0]
    assert json.loads(lk.to_json())["variant"] == "cu113"


@pytest.mark.network
@pytest.mark.parametrize("date, python, needle", [
    ("2021-01-01", "3.9", "2021-10-21"),  # torch 1.10.0 was published on 2021-10-21
    ("2021-11-11", "3.11", "cp311"),  # no torch 1.10.0 wheel for Python 3.11
])
def test_impossible_locks_say_why_in_one_line(registry, date, python, needle):
    with pytest.raises(ReproError) as e:
        lock_requirements(["torch==1.10.0"], date=date, python=python)
    assert needle in str(e.value) and "\n" not in str(e.value)
