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


def test_a_named_command_imports_its_own_library_only(tmp_path):
    """`repro scan PATH` builds the scan subcommand alone (a user waits for its imports);
    the help and the usage of a subcommand are the same as with every command built."""
    from repro_cli.main import main_parser

    full, one = main_parser(), main_parser("scan")
    assert one.format_usage() == full.format_usage()
    sub = [a for a in full._actions if a.dest == "command"][0].choices
    only = [a for a in one._actions if a.dest == "command"][0].choices
    assert set(only) == {"scan"} and len(sub) > 10
    assert only["scan"].format_help() == sub["scan"].format_help()
    assert main_parser("no-such-command").format_help() == full.format_help()
    code = ("import sys\nfrom repro_cli.main import main\nrc = main(['scan', sys.argv[1]])\n"
            "print(rc, sorted(m for m in sys.modules if m.startswith(('repro_core.attest', "
            "'repro_core.lock', 'repro_core.reproduce', 'repro_cli.commands.'))))")
    (tmp_path / "main.py").write_text("import numpy\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                       text=True)
    assert r.stdout.strip().splitlines()[-1] == "0 ['repro_cli.commands.scan']", r.stderr
