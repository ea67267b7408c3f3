"""The one error-to-exit-code mapping of the three console scripts."""

import os
import subprocess
import sys

from repro_core.cli_support import run_command
from repro_core.errors import ReproError


def test_repro_error_is_one_line_and_its_exit_code(capsys):
    class Conflict(ReproError):
        exit_code = 3

    def fail():
        raise Conflict("lock.json: torch 1.10 and 2.0 both pinned")

    assert run_command(fail, prog="repro lock") == 3
    err = capsys.readouterr().err
    assert err == "repro lock: error: lock.json: torch 1.10 and 2.0 both pinned\n"


def test_return_value_none_and_interrupt(capsys):
    assert run_command(lambda: None, prog="repro-mae") == 0
    assert run_command(lambda: 4, prog="repro-mae") == 4

    def interrupted():
        raise KeyboardInterrupt

    assert run_command(interrupted, prog="repro scan") == 130
    assert capsys.readouterr().err == "repro: interrupted\n"


def test_other_exceptions_are_not_swallowed():
    def bug():
        raise ZeroDivisionError

    try:
        run_command(bug, prog="repro")
    except ZeroDivisionError:
        return
    raise AssertionError("a bug must stay a traceback")


def test_closed_stdout_is_quiet_success():
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r); sys.stdout = os.fdopen(w, 'w')\n"
        "from repro_core.cli_support import run_command\n"
        "rc = run_command(lambda: print('x' * 100000), prog='repro-cuda')\n"
        "sys.stderr.write('rc=%d' % rc)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "Traceback" not in r.stderr and r.stderr.endswith("rc=0"), r.stderr

