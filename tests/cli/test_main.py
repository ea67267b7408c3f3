import subprocess
import sys

from repro_cli.main import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert "repro 0.1.0" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: repro" in capsys.readouterr().out


def test_module_entrypoint_runs():
    r = subprocess.run([sys.executable, "-m", "repro_cli", "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "repro" in r.stdout
