"""repro_core.seed: same seed -> same streams, deterministic flags, and no torch needed."""

import json
import os
import random
import subprocess
import sys

import pytest

from repro_core.errors import ReproError
from repro_core.seed import CUBLAS_WORKSPACE, SeedReport, seed_worker, set_seed


@pytest.fixture
def restore():
    """set_seed changes process-wide state; put it back for the tests that follow."""
    env = {k: os.environ.get(k) for k in ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG")}
    state = None
    try:
        import torch
        state = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
                 torch.backends.cudnn.benchmark)
    except ImportError:
        pass
    yield
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if state is not None:
        torch.use_deterministic_algorithms(state[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state[1:]


def _draws():
    out = [random.random() for _ in range(5)]
    try:
        import numpy
        out.append(numpy.random.rand(5).tolist())
    except ImportError:
        pass
    try:
        import torch
        out.append(torch.rand(5).tolist())
        out.append(torch.randint(0, 10 ** 6, (3,)).tolist())
    except ImportError:
        pass
    return out


def test_same_seed_same_streams_different_seed_different(restore):
    set_seed(1234)
    a = _draws()
    set_seed(1234)
    b = _draws()
    set_seed(1235)
    c = _draws()
    assert a == b
    # every library's stream changes with the seed, not just one of them
    assert all(x != y for x, y in zip(a[5:], c[5:])) and a[:5] != c[:5]


def test_python_stream_matches_a_fresh_generator(restore):
    set_seed(7)
    g = random.Random(7)
    assert [random.random() for _ in range(3)] == [g.random() for _ in range(3)]


def test_numpy_and_torch_match_their_own_seeding(restore):
    np = pytest.importorskip("numpy")
    set_seed(99)
    assert np.random.rand(4).tolist() == np.random.RandomState(99).rand(4).tolist()
    torch = pytest.importorskip("torch")
    set_seed(99)
    expect = torch.rand(4, generator=torch.Generator().manual_seed(99))
    assert torch.equal(torch.rand(4), expect)


def test_report_names_what_was_applied(restore):
    r = set_seed(5)
    assert r.seed == 5 and not r.deterministic
    assert {"random", "PYTHONHASHSEED"} <= set(r.applied)
    assert os.environ["PYTHONHASHSEED"] == "5"
    assert "CUBLAS_WORKSPACE_CONFIG" not in r.applied
    assert SeedReport.from_json(json.loads(json.dumps(r.to_json()))) == r


def test_deterministic_sets_torch_flags(restore):
    torch = pytest.importorskip("torch")
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    r = set_seed(3, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    assert {"torch", "torch.use_deterministic_algorithms", "cudnn.deterministic",
            "cudnn.benchmark=False", "CUBLAS_WORKSPACE_CONFIG"} <= set(r.applied)
    if not torch.cuda.is_available():
        assert dict(r.skipped)["torch.cuda"] == "no CUDA device visible to torch"


def test_deterministic_keeps_a_users_cublas_setting(restore):
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":16:8"
    set_seed(3, deterministic=True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


@pytest.mark.parametrize("bad", [-1, 2 ** 32, 1.5, "7", True])
def test_bad_seed_is_refused(bad):
    with pytest.raises(ReproError, match="seed must be an integer"):
        set_seed(bad)


def test_works_without_torch_and_says_so():
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from repro_core.seed import set_seed\n"
        "print(json.dumps(set_seed(11, deterministic=True).to_json()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["skipped"]["torch"] == "torch is not installed"
    assert "random" in rep["applied"] and "CUBLAS_WORKSPACE_CONFIG" in rep["applied"]
    assert not any(a.startswith(("torch", "cudnn")) for a in rep["applied"])


def test_seed_worker_derives_from_torch_initial_seed(restore):
    torch = pytest.importorskip("torch")
    np = pytest.importorskip("numpy")
    torch.manual_seed(2 ** 40 + 17)  # workers get base_seed + worker_id, often above 2**32
    seed_worker(0)
    want = (2 ** 40 + 17) % 2 ** 32
    assert random.random() == random.Random(want).random()
    assert np.random.rand() == np.random.RandomState(want).rand()


def test_dataloader_workers_are_reproducible(restore):
    torch = pytest.importorskip("torch")
    pytest.importorskip("numpy")
    from torch.utils.data import DataLoader, Dataset

    class Noise(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            import numpy
            return torch.tensor([random.random(), float(numpy.random.rand())])

    def run():
        g = torch.Generator().manual_seed(0)
        dl = DataLoader(Noise(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                        generator=g)
        return torch.cat(list(dl))

    a, b = run(), run()
    assert torch.equal(a, b)
    assert a[0, 0] != a[2, 0]  # the two workers draw different numbers
