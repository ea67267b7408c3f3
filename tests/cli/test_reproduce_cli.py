"""`repro reproduce` on the command line: flags, one-line errors (exit 2), exit codes."""

import pytest

from repro_cli.main import main


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--gpu", "--strategy", "--workdir", "--smoke", "--max-rounds", "--resume",
                 "--json"):
        assert flag in out


@pytest.mark.parametrize("args, message", [
    (["reproduce", "NOPE"], "NOPE: not a directory"),
    (["reproduce", "{repo}", "--gpu", "RTX 9999 Ultra"], "--gpu RTX 9999 Ultra:"),
    (["reproduce", "{repo}", "--max-rounds", "0", "--gpu", "none"], "max_rounds 0"),
    (["reproduce", "{repo}", "--workdir", "{repo}/w", "--gpu", "none"], "inside the repository"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "train.py").write_text("print(1)\n")
    code = main([a.format(repo=repo) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("repro reproduce: error: ") and message.format(repo=repo) in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in repo.iterdir()) == ["train.py"]


def test_a_non_empty_workdir_needs_resume(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    (w / "something").write_text("x")
    assert main(["reproduce", str(repo), "--gpu", "none", "--workdir", str(w)]) == 2
    assert "not empty; resume it (--resume)" in capsys.readouterr().err
