"""The interpreter probe is bounded in time and output (issue 14: a hung interpreter held
doctor for 300 s; 200 MB of output was reported as "no output")."""

import inspect
import os
import time

import pytest

from repro_core import doctor, probe
from repro_core.errors import BadValue
from repro_core.probe import probe_interpreter


def _script(tmp_path, body):
    exe = tmp_path / "python"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    return str(exe)


def _dead(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # killed but not yet reaped by init: a zombie
        return f.read().split(")")[-1].split()[0] == "Z"


def test_default_timeout_is_20_s():
    assert probe.PROBE_TIMEOUT == 20
    assert inspect.signature(doctor.collect).parameters["timeout"].default == 20


def test_a_hung_interpreter_is_ended_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    exe = _script(tmp_path, f"sleep 300 & echo $! > {pids}\nsleep 300\n")
    start = time.monotonic()
    with pytest.raises(BadValue) as e:
        probe_interpreter(exe, timeout=1)
    assert time.monotonic() - start < 30
    assert str(e.value) == f"{exe}: the probe did not finish in 1 s (it was ended)"
    assert e.value.field == "python"
    child = int(pids.read_text())
    for _ in range(50):
        if _dead(child):
            break
        time.sleep(0.1)
    assert _dead(child)  # the whole process group went, not only the interpreter


def test_an_interpreter_that_closes_its_output_but_hangs(tmp_path):
    exe = _script(tmp_path, "exec >&- 2>&-\nsleep 300\n")
    with pytest.raises(BadValue, match="did not finish in 1 s"):
        probe_interpreter(exe, timeout=1)


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_too_much_output_is_stopped_and_said(tmp_path, stream):
    redirect = " >&2" if stream == "stderr" else ""
    exe = _script(tmp_path, f"head -c 200000000 /dev/zero | tr '\\0' x{redirect}\n")
    start = time.monotonic()
    with pytest.raises(BadValue) as e:
        probe_interpreter(exe, timeout=60)
    assert time.monotonic() - start < 30
    assert str(e.value) == (f"{exe}: the probe printed more than "
                            f"{probe.MAX_PROBE_OUTPUT:,} bytes on {stream} (it prints one JSON "
                            f"line of a few KB): stopped reading and ended it")


def test_output_below_the_cap_is_read_whole(tmp_path):
    noise = "y" * (probe.MAX_PROBE_OUTPUT // 2)
    exe = _script(tmp_path, f"echo {noise} >&2\necho {noise}\necho '{{\"python\": \"3.9.1\"}}'\n")
    assert probe_interpreter(exe) == {"python": "3.9.1"}


def test_a_last_line_that_is_not_an_object(tmp_path):
    with pytest.raises(BadValue, match=r"the probe failed \(exit 0\): its last line is not a "):
        probe_interpreter(_script(tmp_path, "echo '[1, 2]'\n"))


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_doctor_timeout_must_be_positive(bad):
    with pytest.raises(BadValue) as e:
        doctor.collect(timeout=bad)
    assert e.value.field == "timeout" and str(e.value) == "not a positive number of seconds"
