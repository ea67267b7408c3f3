"""The reproduce pipeline's logic: stage order, candidate fallback, the round limit, resume,
and the copy that never touches the user's checkout.

scan, plan, copy, diagnose (on real logs from tests/data/logs) and the report are real; only
the stages that need the registry or run a repository (lock, env, the subprocess runner,
snapshot) are replaced, by ``FakeSteps`` below."""

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest

from repro_core.errors import ReproError
from repro_core.hardware import Hardware
from repro_core.lock import Lock, Pin
from repro_core.reproduce import (
    REPORT_JSON,
    REPORT_MD,
    ReproduceReport,
    Steps,
    copy_tree,
    order_candidates,
    python_for,
    reproduce,
    tree_diff,
)

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"
TB_MISSING = (LOGS / "torch2141_tensorboard-missing.log").read_text()
NUMPY_FLOAT = (LOGS / "legacy-vit_numpy2_np-float.log").read_text()
PASS = "trained 1 step(s): loss 0.1\n"


class FakeSteps(Steps):
    """lock/env/run/snapshot without the registry: ``smoke`` is a list of (exit, output) per
    smoke run (the last one repeats); ``lock_fails`` the torch versions whose lock fails;
    ``interrupt_at`` the smoke run (1-based) that raises KeyboardInterrupt."""

    def __init__(self, smoke, lock_fails=(), interrupt_at=0, builds=((0, "built\n"),)):
        self.smoke = list(smoke)
        self.builds = list(builds)
        self.lock_fails = set(lock_fails)
        self.interrupt_at = interrupt_at
        self.calls = []  # (stage, detail)

    def pythons(self):
        return ["3.8", "3.11"]

    def lock(self, plan, candidate, cand, date, extra):
        self.calls.append(("lock", (cand.torch, tuple(extra))))
        if cand.torch in self.lock_fails:
            raise ReproError(f"no version of torch=={cand.torch}")
        pins = [Pin("torch", cand.torch.split("+")[0], ("sha256:00",))]
        pins += [Pin(e.split("=")[0].split("<")[0], "1.0", ("sha256:01",)) for e in extra]
        return Lock(pins=tuple(pins), date=date or "2024-01-01", python=cand.python,
                    platform="linux", variant="cpu", source=f"candidate {candidate}")

    def env(self, lock, prefix):
        self.calls.append(("env", prefix))
        os.makedirs(os.path.join(prefix, "bin"))
        python = os.path.join(prefix, "bin", "python")
        Path(python).write_text("")
        return python

    def run(self, argv, cwd, env, log, timeout):
        if "setup.py" in argv:
            done = self.count("build")
            self.calls.append(("build", (list(argv), cwd, env.get("CUDA_VISIBLE_DEVICES"),
                                         env.get("TORCH_CUDA_ARCH_LIST"))))
            code, out = self.builds[min(done, len(self.builds) - 1)]
            Path(log).write_text(out)
            return code
        smokes = sum(1 for c in self.calls if c[0] == "smoke")
        self.calls.append(("smoke", list(argv)))
        if self.interrupt_at and smokes + 1 == self.interrupt_at:
            raise KeyboardInterrupt
        code, out = self.smoke[min(smokes, len(self.smoke) - 1)]
        Path(log).write_text(out)
        return code

    def snapshot(self, python):
        return "sha256:" + hashlib.sha256(python.encode()).hexdigest()

    def count(self, stage):
        return sum(1 for c in self.calls if c[0] == stage)


@pytest.fixture
def repo(tmp_path):
    """A small training repository (torch>=2.0, no extension, a README command)."""
    r = tmp_path / "paper"
    r.mkdir()
    (r / "requirements.txt").write_text("torch>=2.0\n")
    (r / "train.py").write_text("import torch\nprint('trained')\n")
    (r / "README.md").write_text("# paper\n\n```bash\npython train.py --steps 100\n```\n")
    return r


def _names(rep):
    return [s.name for s in rep.stages]


def test_a_passing_run_goes_through_the_stages_in_order(repo, tmp_path):
    steps = FakeSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed and rep.chosen == 1 and rep.rounds == 1
    # exact candidate: no migrate; no extension: the build stage is skipped
    assert _names(rep) == ["scan", "plan", "lock", "env", "copy", "build", "smoke", "snapshot"]
    assert [s.status for s in rep.stages][5] == "skipped"
    # the README command with --steps lowered to 1, run with the env's interpreter
    smoke = [c[1] for c in steps.calls if c[0] == "smoke"][0]
    assert smoke[0].endswith(os.path.join("envs", "c1-1", "bin", "python"))
    assert smoke[1:] == ["train.py", "--steps", "1"]
    # Python 3.14 (the plan's) is not "installed": the newest installed one torch supports
    assert rep.attempts[0].python == "3.11"
    written = ReproduceReport.from_json((tmp_path / "w" / REPORT_JSON).read_text())
    assert written.to_json() == rep.to_json() and written.attempts == rep.attempts
    md = (tmp_path / "w" / REPORT_MD).read_text()
    assert "**passed**" in md and rep.snapshot_hash in md and "torch==" in md


@pytest.fixture
def ext_repo(repo):
    """``repo`` with a THC-era CUDA extension built by setup.py."""
    (repo / "csrc").mkdir()
    (repo / "csrc" / "op.cu").write_text(
        "#include <ATen/ATen.h>\n#include <THC/THC.h>\n\nvoid f() {}\n")
    (repo / "setup.py").write_text(
        "from setuptools import setup\n"
        "from torch.utils.cpp_extension import BuildExtension, CUDAExtension\n"
        "setup(name='op', ext_modules=[CUDAExtension('op', ['csrc/op.cu'])],\n"
        "      cmdclass={'build_ext': BuildExtension})\n")
    return repo


def test_extensions_are_built_for_the_gpu_and_a_failed_build_is_repaired(ext_repo, tmp_path):
    arch = (LOGS / "legacy-vit_build_nvcc13_compute60.log").read_text()
    steps = FakeSteps([(0, PASS)], builds=[(1, arch), (0, "built\n")])
    rep = reproduce(str(ext_repo), Hardware.stated("8.9"), workdir=str(tmp_path / "w"),
                    steps=steps, progress=False)
    builds = [c[1] for c in steps.calls if c[0] == "build"]
    assert builds[0][0][1:] == ["setup.py", "build_ext", "--inplace"]
    assert builds[0][2] is None and builds[0][3] == "8.9"  # TORCH_CUDA_ARCH_LIST from --gpu
    # a forward-port: the THC include is rewritten before the first build; round 1 ran
    # without the extension, diagnose named the arch list, round 2 built it
    assert _names(rep)[5:] == ["migrate", "build", "smoke", "diagnose", "fix", "build",
                               "smoke", "snapshot"]
    assert rep.passed and rep.rounds == 2 and rep.build["status"] == "ok"
    assert "set TORCH_CUDA_ARCH_LIST=8.9" in rep.attempts[0].why
    if importlib.util.find_spec("libcst"):  # migrate needs it (a repro-core dependency)
        assert "-#include <THC/THC.h>" in rep.migrations
    assert (ext_repo / "csrc" / "op.cu").read_text().count("THC/THC.h") == 1  # user's copy


def test_a_build_that_cannot_be_repaired_still_passes_on_the_smoke_run(ext_repo, tmp_path):
    steps = FakeSteps([(0, PASS)], builds=[(1, "error: something nobody knows\n")])
    rep = reproduce(str(ext_repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed and rep.rounds == 1 and rep.build["status"] == "failed"
    assert "did not build" in rep.attempts[0].why
    assert [c[1][2] for c in steps.calls if c[0] == "build"] == [""]  # no GPU: hidden


def test_the_smoke_command_given_runs_in_bash_from_the_copy(repo, tmp_path):
    steps = FakeSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    smoke="python -c 'print(1)'", progress=False)
    assert rep.passed
    assert [c[1] for c in steps.calls if c[0] == "smoke"][0] == [
        "bash", "-c", "python -c 'print(1)'"]


def test_a_failure_diagnose_can_fix_gets_a_new_lock_and_env(repo, tmp_path):
    steps = FakeSteps([(1, TB_MISSING), (0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed and rep.rounds == 2
    assert _names(rep) == ["scan", "plan", "lock", "env", "copy", "build", "smoke", "diagnose",
                           "fix", "lock", "env", "build", "smoke", "snapshot"]
    diag = [s for s in rep.stages if s.name == "diagnose"][0]
    assert "install tensorboard" in diag.summary
    locks = [c[1] for c in steps.calls if c[0] == "lock"]
    assert "tensorboard" not in locks[0][1] and "tensorboard" in locks[1][1]
    assert "tensorboard==1.0" in rep.lock  # the passing lock is the one reported
    assert rep.env.endswith("c1-2")


def test_the_round_limit_counts_smoke_runs_per_candidate(repo, tmp_path):
    # each failing round shows a new error, so diagnose always has an untried fix
    steps = FakeSteps([(1, TB_MISSING), (1, NUMPY_FLOAT), (0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    max_rounds=2, progress=False)
    first, second = rep.attempts
    assert first.outcome == "rejected" and first.rounds == 2
    assert "still fails after 2 round(s)" in first.why
    assert second.outcome == "passed" and second.rounds == 1 and rep.chosen == 2
    assert steps.count("smoke") == 3


def test_one_round_means_no_diagnosis(repo, tmp_path):
    steps = FakeSteps([(1, TB_MISSING)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    max_rounds=1, progress=False)
    assert not rep.passed and [a.rounds for a in rep.attempts] == [1, 1]
    assert "diagnose" not in _names(rep) and steps.count("smoke") == 2


def test_the_same_error_twice_rejects_the_candidate_then_the_next_one_is_tried(repo, tmp_path):
    steps = FakeSteps([(1, TB_MISSING), (1, TB_MISSING), (0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    first, second = rep.attempts
    assert first.outcome == "rejected" and first.rounds == 2
    assert "no untried fix" in first.why
    assert second.outcome == "passed" and rep.chosen == second.candidate == 2
    md = (tmp_path / "w" / REPORT_MD).read_text()
    assert "| 1 | exact | 2.14.1+cpu | 3.11 | rejected | 2 |" in md


def test_a_candidate_that_cannot_be_locked_falls_back_to_the_next(repo, tmp_path):
    steps = FakeSteps([(0, PASS)], lock_fails={"2.14.1"})
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert [a.outcome for a in rep.attempts] == ["rejected", "passed"]
    assert "lock failed: no version of torch==2.14.1" in rep.attempts[0].why
    assert rep.attempts[1].torch.startswith("2.13") and rep.passed
    assert steps.count("env") == 1


def test_unknown_error_rejects_without_a_fix(repo, tmp_path):
    steps = FakeSteps([(1, "loss is nan at step 3, stopping\n")])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert not rep.passed and all(a.rounds == 1 for a in rep.attempts)
    assert all("unknown error" in a.why for a in rep.attempts)
    assert steps.count("smoke") == len(rep.attempts) == 2


def test_interrupted_run_resumes_at_the_stage_that_did_not_complete(repo, tmp_path):
    w = tmp_path / "w"
    steps = FakeSteps([(1, TB_MISSING), (0, PASS)], interrupt_at=2)
    with pytest.raises(KeyboardInterrupt):
        reproduce(str(repo), Hardware(), workdir=str(w), steps=steps, progress=False)
    journal = json.loads((w / ".reproduce" / "journal.json").read_text())
    assert [s["name"] for s in journal["stages"]][-3:] == ["lock", "env", "build"]
    assert not (w / REPORT_JSON).exists()
    # a second run without --resume refuses the non-empty workdir
    with pytest.raises(ReproError, match="resume"):
        reproduce(str(repo), Hardware(), workdir=str(w), steps=FakeSteps([(0, PASS)]),
                  progress=False)
    again = FakeSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(w), steps=again, resume=True,
                    progress=False)
    assert rep.passed and rep.rounds == 2
    # nothing before the interrupted smoke run is redone; the failed round-1 smoke is reused
    assert again.count("lock") == again.count("env") == 0 and again.count("smoke") == 1
    assert [s.resumed for s in rep.stages] == [True] * 12 + [False, False]


def test_a_workdir_with_only_an_empty_journal_folder_counts_as_empty(repo, tmp_path):
    w = tmp_path / "w"
    (w / ".reproduce").mkdir(parents=True)  # a run stopped before its first stage
    rep = reproduce(str(repo), Hardware(), workdir=str(w), steps=FakeSteps([(0, PASS)]),
                    progress=False)
    assert rep.passed


def test_a_plan_failure_is_an_error_and_the_scan_is_kept(tmp_path):
    r = tmp_path / "paper"
    r.mkdir()
    (r / "requirements.txt").write_text("torch>=99\n")
    w = tmp_path / "w"
    with pytest.raises(ReproError, match="no candidate"):
        reproduce(str(r), Hardware(), workdir=str(w), steps=FakeSteps([(0, PASS)]),
                  progress=False)
    journal = json.loads((w / ".reproduce" / "journal.json").read_text())
    assert [s["name"] for s in journal["stages"]] == ["scan"]


def test_resume_reruns_a_stage_whose_output_is_gone(repo, tmp_path):
    w = tmp_path / "w"
    reproduce(str(repo), Hardware(), workdir=str(w), steps=FakeSteps([(0, PASS)]),
              progress=False)
    import shutil

    shutil.rmtree(w / "envs" / "c1-1")
    again = FakeSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(w), steps=again, resume=True,
                    progress=False)
    assert rep.passed and again.count("env") == 1 and again.count("lock") == 0


def test_strategy_exact_tries_only_exact_candidates(repo, tmp_path):
    steps = FakeSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    strategy="forward-port", progress=False)
    assert not rep.passed and rep.attempts == () and steps.calls == []


def test_bad_arguments(repo, tmp_path):
    with pytest.raises(ReproError, match="not a directory"):
        reproduce(str(tmp_path / "nope"), Hardware(), progress=False)
    with pytest.raises(ReproError, match="inside the repository"):
        reproduce(str(repo), Hardware(), workdir=str(repo / "w"), progress=False)
    with pytest.raises(ReproError, match="max_rounds"):
        reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), max_rounds=0,
                  progress=False)
    with pytest.raises(ReproError, match="strategy"):
        reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), strategy="newest",
                  progress=False)


def test_order_candidates():
    from repro_core.plan import Candidate, Plan

    def c(torch, strategy):
        return Candidate("3.10", torch, "", None, None, None, strategy, (), (), torch)

    p = Plan("x", None, "", None, (c("1.8.2+cpu", "forward-port"), c("1.8.1", "exact"),
                                    c("2.14.1+cpu", "forward-port"), c("1.9.1", "forward-port")))
    assert order_candidates(p, "auto") == [2, 3, 1, 4]
    assert order_candidates(p, "exact") == [2]
    assert order_candidates(p, "forward-port") == [3, 1, 4]


def test_python_for():
    from repro_core.plan import Candidate

    cand = Candidate("3.14", "2.14.1+cpu", "0.29.1", None, None, None, "exact", (), ())
    assert python_for(cand, ["3.14"]) == ("3.14", "")
    assert python_for(cand, ["3.8", "3.10", "3.11"])[0] == "3.11"
    assert python_for(cand, ["2.7"]) == ("3.14", "")  # none fits: env creation says so


def _tree_digest(root):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = (os.path.islink(p), os.readlink(p)
                                             if os.path.islink(p) else Path(p).read_bytes())
    return out


def test_copy_leaves_links_out_of_the_tree_behind(tmp_path):
    src = tmp_path / "repo"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("x = 1\n")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref\n")
    secret = tmp_path / "outside.txt"
    secret.write_text("user data\n")
    (src / "out.txt").symlink_to(secret)
    (src / "outdir").symlink_to(tmp_path)
    (src / "in.py").symlink_to(src / "pkg" / "a.py")
    before = _tree_digest(src)
    skipped = copy_tree(str(src), str(tmp_path / "copy"))
    assert sorted(skipped) == ["out.txt", "outdir"]
    dst = tmp_path / "copy"
    assert (dst / "pkg" / "a.py").read_text() == "x = 1\n"
    assert os.path.islink(dst / "in.py") and os.readlink(dst / "in.py") == "pkg/a.py"
    assert not os.path.lexists(dst / "out.txt") and not (dst / ".git").exists()
    (dst / "pkg" / "a.py").write_text("x = 2\n")
    assert _tree_digest(src) == before and secret.read_text() == "user data\n"
    diff = tree_diff(str(src), str(dst))
    assert "--- a/pkg/a.py\n+++ b/pkg/a.py\n" in diff and "-x = 1\n+x = 2\n" in diff
    with pytest.raises(ReproError, match="already exists"):
        copy_tree(str(src), str(dst))


class DatedSteps(FakeSteps):
    """Like FakeSteps, but a lock as of a date fails (its pins postdate it) and every date
    asked for is recorded."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.dates = []

    def lock(self, plan, candidate, cand, date, extra):
        self.dates.append((cand.strategy, date))
        if date is not None:
            raise ReproError(f"cannot lock as of {date}: no version of torch=={cand.torch}")
        return super().lock(plan, candidate, cand, date, extra)


def test_forward_ports_lock_as_of_today_and_exact_pins_fall_back_from_the_paper_date(
        repo, tmp_path):
    (repo / "README.md").write_text("# paper (arXiv:2111.06377)\n\n```bash\n"
                                    "python train.py --steps 100\n```\n")
    steps = DatedSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed
    first_strategy, first_date = steps.dates[0]
    if first_strategy == "exact":  # the paper's date first, then today when that fails
        assert first_date == "2021-11-01" and steps.dates[1] == ("exact", None)
    assert all(d is None for s, d in steps.dates if s != "exact")


MISSING_LOCAL = ('Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n'
                 '    import models\nModuleNotFoundError: No module named \'models\'\n')
MISSING_EXT = ('Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n'
               '    import _ext\nModuleNotFoundError: No module named \'_ext\'\n')


@pytest.mark.parametrize("log", [MISSING_LOCAL, MISSING_EXT])
def test_no_install_of_the_repositorys_own_module_nor_of_a_non_requirement(repo, tmp_path, log):
    (repo / "models").mkdir()
    (repo / "models" / "__init__.py").write_text("")
    steps = FakeSteps([(1, log)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    max_rounds=2, progress=False)  # no traceback of ours, a report instead
    assert not rep.passed
    assert all("models" not in c[1][1] and "_ext" not in c[1][1]
               for c in steps.calls if c[0] == "lock")


def test_setup_folders_take_a_setup_py_beside_another_build_script(tmp_path):
    from types import SimpleNamespace

    from repro_core.reproduce import setup_folders

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "setup.py").write_text("")
    (tmp_path / "b").mkdir()  # make.sh only: nothing repro can run
    report = SimpleNamespace(extensions=[
        SimpleNamespace(build="a/make.sh", path="a"), SimpleNamespace(build="make.sh", path="b"),
        SimpleNamespace(build="setup.py:3 CUDAExtension (cuda)", path="a"),
        SimpleNamespace(build="", path=".")])
    assert setup_folders(report, str(tmp_path)) == ["a"]


def test_the_own_module_is_not_even_proposed(repo, tmp_path):
    # PyTorch-GAN: implementations/acgan/acgan.py imports its sibling models.py by bare name
    (repo / "implementations" / "acgan").mkdir(parents=True)
    (repo / "implementations" / "acgan" / "models.py").write_text("import torch\n")
    steps = FakeSteps([(1, MISSING_LOCAL)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    max_rounds=2, progress=False)
    diag = [s for s in rep.stages if s.name == "diagnose"]
    assert diag and all(s.status == "failed" and "install models" not in s.summary
                        for s in diag)
    finding = diag[0].data["diagnosis"]["findings"][0]
    assert finding["id"] == "module-not-found" and not finding["fixes"]
    assert "the repository's own module (in implementations/acgan)" in finding["advice"]
    assert not any(s.name == "fix" for s in rep.stages)


UV_SDIST = (LOGS / "diagnose" / "uv-sdist-build.log").read_text()


class SdistSteps(FakeSteps):
    """The env of a lock that asks for ``pyyaml<6`` fails as uv fails on pyyaml 5.4.1's sdist
    (tests/data/logs/diagnose/uv-sdist-build.log, its error in one line as uvtool gives it)."""

    def env(self, lock, prefix):
        if any(e.startswith("pyyaml<6") for e in self.calls[-1][1][1]):
            self.calls.append(("env", prefix))
            error = " ".join(x.strip() for x in UV_SDIST.splitlines()
                             if x.startswith(("error:", "  cause:")))
            raise ReproError(f"cannot install requirements.lock: {error}")
        return super().env(lock, prefix)


def test_an_unbuildable_sdist_bound_is_relaxed_in_a_new_lock(repo, tmp_path):
    (repo / "requirements.txt").write_text("torch>=2.0\npyyaml<6\n")
    steps = SdistSteps([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed and rep.chosen == 1 and rep.rounds == 1
    locks = [c[1][1] for c in steps.calls if c[0] == "lock"]
    # the scan's bound, then the fix's requirement in its place (not beside it)
    assert "pyyaml<6" in locks[0] and "pyyaml>5.4.1" in locks[1]
    assert not any(e.startswith("pyyaml<") for e in locks[1])
    names = _names(rep)
    assert names[:9] == ["scan", "plan", "lock", "env", "diagnose", "fix", "lock", "env", "copy"]
    fix = [s for s in rep.stages if s.name == "fix"][0]
    assert fix.key == "c1.env1.fix" and fix.summary == "pin pyyaml>5.4.1 (new lock and env)"
    assert "pin pyyaml>5.4.1" in rep.attempts[0].why
    # resumed, the failed env the run went past is not built (and failed) again
    again = SdistSteps([(0, PASS)])
    rep2 = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=again,
                     progress=False, resume=True)
    assert rep2.passed and again.count("env") == 0 and again.count("lock") == 0


def test_an_env_failure_diagnose_cannot_fix_ends_the_candidate(repo, tmp_path):
    (repo / "requirements.txt").write_text("torch>=2.0\npyyaml<6\n")

    class Broken(SdistSteps):
        def env(self, lock, prefix):
            self.calls.append(("env", prefix))
            raise ReproError("cannot install requirements.lock: disk full")

    steps = Broken([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert not rep.passed
    assert all(a.why.startswith("env create failed: ") for a in rep.attempts)
    assert steps.count("env") == len(rep.attempts)  # no second env for the same candidate


def test_a_crash_at_exit_is_reported_as_such_and_the_next_candidate_tried(repo, tmp_path):
    from repro_core.reproduce import signal_line

    # the program's output ends normally; a warning on the way; then the signal
    out = ("UserWarning: CUDA initialization: Found no NVIDIA driver on your system.\n"
           "Training time 0:00:16\n\n" + signal_line(-11) + "\n")
    steps = FakeSteps([(-11, out), (0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert signal_line(-11) == "repro reproduce: killed by signal SIGSEGV (exit -11)"
    assert rep.passed and len(rep.attempts) == 2
    first = rep.attempts[0]
    assert first.outcome == "rejected" and first.rounds == 1
    assert "exit-crash" in first.why and "no-nvidia-driver" not in first.why


def test_an_import_only_requirement_missing_from_the_registry_is_left_out(repo, tmp_path):
    # DETR: d2/train_net.py (an optional Detectron2 wrapper) imports detectron2, not on PyPI
    (repo / "d2").mkdir()
    (repo / "d2" / "train_net.py").write_text("import detectron2\nimport torch\n")
    (repo / "README.md").write_text("# detr\n")  # the import smoke

    class Registry(FakeSteps):
        def lock(self, plan, candidate, cand, date, extra):
            if any(e.startswith("detectron2") for e in extra):
                self.calls.append(("lock", (cand.torch, tuple(extra))))
                raise ReproError("cannot lock as of 2026-12-01 for Python 3.11 on linux: Because "
                                 "detectron2 was not found in the package registry and you "
                                 "require detectron2.")
            return super().lock(plan, candidate, cand, date, extra)

    steps = Registry([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    assert rep.passed and rep.chosen == 1
    lock = [s for s in rep.stages if s.name == "lock"][0]
    assert lock.status == "ok" and lock.data["dropped"] == ["detectron2"]
    # the inferred import smoke leaves out what imports it
    smoke = [c[1] for c in steps.calls if c[0] == "smoke"][0]
    assert smoke[1] == "-c" and "'d2.train_net': 'imports detectron2, which the " \
        "environment lacks'" in smoke[2]
    assert "and not in the package registry: detectron2" in lock.summary
    # nor a git-only requirement (DETR's panopticapi); one with a version is never dropped
    (repo / "requirements.txt").write_text(
        "torch>=2.0\ngit+https://github.com/facebookresearch/detectron2.git#egg=detectron2\n")
    steps = Registry([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w1"), steps=steps,
                    progress=False)
    assert rep.passed
    (repo / "requirements.txt").write_text("torch>=2.0\ndetectron2==0.6\n")
    steps = Registry([(0, PASS)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w2"), steps=steps,
                    progress=False)
    assert not rep.passed
    assert all("detectron2 was not found" in a.why for a in rep.attempts)


def test_no_install_of_a_requirement_the_lock_left_out(repo, tmp_path):
    (repo / "d2").mkdir()
    (repo / "d2" / "train_net.py").write_text("import detectron2\n")

    class Registry(FakeSteps):
        def lock(self, plan, candidate, cand, date, extra):
            if any(e.startswith("detectron2") for e in extra):
                raise ReproError("cannot lock: Because detectron2 was not found in the package "
                                 "registry and you require detectron2.")
            return super().lock(plan, candidate, cand, date, extra)

    missing = TB_MISSING.replace("tensorboard", "detectron2")
    steps = Registry([(1, missing)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    fixes = [s for s in rep.stages if s.name == "fix"]
    assert fixes and all("detectron2 is not in the package registry (the lock left it out)"
                         in s.summary for s in fixes)
    assert steps.count("env") == len(rep.attempts)  # no second env for a useless install


def test_a_pin_that_contradicts_the_candidate_or_a_repair_is_refused(repo, tmp_path):
    # faster-rcnn on a forward-port to torch 2.14.1: diagnose answered `torch.utils.ffi` with
    # `pin torch<1.0` and `scipy.misc.imread` with `pin scipy<1.3` (after scipy<1.3 had been
    # relaxed because scipy 1.2.3 does not build)
    (repo / "requirements.txt").write_text("torch>=2.0\npyyaml<6\n")
    ffi = ("Traceback (most recent call last):\n  File \"lib/model/roi_pooling/_ext/x.py\", "
           "line 2, in <module>\n    from torch.utils.ffi import _wrap_function\n"
           "ModuleNotFoundError: No module named 'torch.utils.ffi'\n")
    steps = SdistSteps([(1, ffi)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    fixes = [s for s in rep.stages if s.name == "fix" and ".r1." in s.key]
    assert fixes and "excludes this candidate's torch" in fixes[0].summary
    assert not any("torch<1.0" in " ".join(c[1][1]) for c in steps.calls if c[0] == "lock")
    from repro_core.reproduce import Reproducer

    r = Reproducer(str(repo), Hardware(), workdir=str(tmp_path / "x"), steps=steps,
                   progress=False)
    r.relaxed = {"pyyaml"}
    assert "was dropped" in r._contradicts("pin", "pyyaml", "pyyaml<6")
    assert r._contradicts("install", "pyyaml", "pyyaml") == ""


def test_a_cython_build_regenerates_its_c_and_locks_cython_below_3(repo, tmp_path):
    """faster-rcnn.pytorch's lib/setup.py: Cython extensions whose .pyx set no language_level,
    with a _mask.c generated by Cython 0.24 shipped beside it (it no longer compiles on
    Python 3.10): the lock gets cython<3 and the build runs with --force."""
    (repo / "m").mkdir()
    (repo / "m" / "_mask.pyx").write_text("cdef int n = len(x) / 2\n")
    (repo / "m" / "_mask.c").write_text("/* Generated by Cython 0.24 */\n")
    (repo / "setup.py").write_text(
        "from distutils.core import setup\nfrom distutils.extension import Extension\n"
        "from Cython.Distutils import build_ext\n"
        "setup(name='m', ext_modules=[Extension('m._mask', ['m/_mask.pyx'])],\n"
        "      cmdclass={'build_ext': build_ext})\n")
    steps = FakeSteps([(0, PASS)], builds=[(0, "built\n")])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    builds = [c[1] for c in steps.calls if c[0] == "build"]
    assert builds and builds[0][0][1:] == ["setup.py", "build_ext", "--inplace", "--force"]
    assert rep.build["builds"][0]["command"] == "python setup.py build_ext --inplace --force"
    _torch, extra = [c[1] for c in steps.calls if c[0] == "lock"][0]
    assert "cython<3" in extra


def test_a_model_step_that_fails_after_every_import_passed_passes_on_the_imports(repo,
                                                                                tmp_path):
    (repo / "README.md").write_text("# paper\n")  # no command: the inferred model step
    (repo / "models.py").write_text(
        "from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self, width=8):\n"
        "        super().__init__()\n        self.fc = nn.Linear(width, 2)\n")
    failed = ("imported 2 module(s), 0 failed, 0 skipped\n"
              "model step: none of 1 model(s) could take a step (1 tries)\n")
    steps = FakeSteps([(3, failed)])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w"), steps=steps,
                    progress=False)
    smoke = [c[1] for c in steps.calls if c[0] == "smoke"][0]
    assert smoke[1] == "-c" and "model_step([('models', 'Net', 'models.py:3')]" in smoke[2]
    stage = [s for s in rep.stages if s.name == "smoke"][0]
    assert (stage.status, stage.data["kind"], stage.data["exit"]) == ("failed", "model_step", 3)
    assert rep.smoke_command.startswith(
        "python -c '<import each module, then a training step of a model>'")
    # diagnose recognises nothing: the run passes on its imports, and says the step failed
    assert rep.passed and rep.rounds == 1 and steps.count("smoke") == 1
    assert "every module imported in round 1" in rep.attempts[0].why
    assert "no model could take a training step (c1/r1-smoke.log)" in rep.attempts[0].why
    # a model stepped but a module did not import (exit 4): passes on the step
    steps = FakeSteps([(4, "import failed: tools\nmodel step: models.Net() ... loss 0.1\n")])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w4"), steps=steps,
                    progress=False)
    assert rep.passed and "a model took a training step in round 1" in rep.attempts[0].why
    assert "but a module failed to import (c1/r1-smoke.log)" in rep.attempts[0].why
    # no model stepped and an import failed (exit 1) is a failure, as for the import smoke
    steps = FakeSteps([(1, "import failed: models\nModuleNotFoundError: No module named "
                           "'torch'\n")])
    rep = reproduce(str(repo), Hardware(), workdir=str(tmp_path / "w1"), steps=steps,
                    progress=False)
    assert not rep.passed
