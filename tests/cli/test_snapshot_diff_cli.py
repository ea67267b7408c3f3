"""`repro snapshot` and `repro diff`: files written, side-by-side output, exit codes."""

import json
import sys

from repro_cli.main import main


def test_snapshot_then_diff(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.txt"
    assert main(["snapshot", "--python", sys.executable, "-o", str(a)]) == 0
    assert main(["snapshot", "--python", sys.executable, "-o", str(b), "--format", "freeze"]) == 0
    capsys.readouterr()
    assert main(["diff", str(a), str(a)]) == 0
    assert "the same" in capsys.readouterr().out
    freeze = b.read_text().splitlines()
    dropped = next(ln for ln in freeze if "==" in ln)
    b.write_text("\n".join(ln for ln in freeze if ln != dropped) + "\nzz-extra==1.0\n")
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out.splitlines()
    name, version = dropped.split("==")
    assert any(ln.split()[:3] == [name, version, "<"] for ln in out)
    assert any(ln.split()[:3] == ["zz-extra", ">", "1.0"] for ln in out)
    assert main(["diff", str(a), str(b), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert {(c["name"], c["kind"]) for c in d["packages"]} == {(name, "removed"),
                                                               ("zz-extra", "added")}


def test_diff_of_a_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "nope.json"), str(tmp_path / "nope.json")]) == 2
    assert "nope.json: cannot read" in capsys.readouterr().err


def test_snapshot_of_a_non_interpreter(tmp_path, capsys):
    assert main(["snapshot", "--python", str(tmp_path)]) == 2
    assert "not an executable Python interpreter" in capsys.readouterr().err
