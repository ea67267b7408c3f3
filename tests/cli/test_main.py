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


def test_closed_pipe_is_not_a_traceback():
    """`repro doctor --json | head -1`: the reader went away early; exit quietly, status 0."""
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r); sys.stdout = os.fdopen(w, 'w')\n"
        "from repro_cli.main import main\n"
        "sys.stderr.write('rc=%d' % main(['doctor', '--json']))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Traceback" not in r.stderr and r.stderr.endswith("rc=0"), r.stderr
