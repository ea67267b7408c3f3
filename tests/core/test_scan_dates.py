"""The reference date: typed sources, and git wins by its kind, not by its label's words."""

import subprocess

import pytest

from repro_core.scan import history, scan
from repro_core.scan.history import DateSource


def test_git_wins_over_newer_arxiv_ids_by_kind():
    sources = [DateSource("2020-03-04", "HEAD commit 1a2b3c", "git"),
               DateSource("2022-01-01", "arXiv:2201.00001", "arxiv")]
    assert history.pick(sources) == "2020-03-04"


def test_a_label_that_starts_with_git_is_not_a_git_date():
    # was: `why.startswith("git")` on the label
    sources = [DateSource("2019-05-01", "github.com/x/y cites arXiv:1905.00001", "arxiv"),
               DateSource("2021-02-01", "arXiv:2102.00001", "arxiv")]
    assert history.pick(sources) == "2021-02-01"
    assert history.pick([]) is None


def test_scan_reports_the_same_labels(tmp_path):
    (tmp_path / "README.md").write_text("Paper: arXiv:1905.00001 and arXiv:2001.00002\n")
    r = scan(tmp_path)
    assert r.reference_date == "2020-01-01"
    assert r.date_sources == ("arXiv:1905.00001 (2019-05-01)", "arXiv:2001.00002 (2020-01-01)")


def test_scan_prefers_the_git_commit(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    try:
        subprocess.run(git[:3] + ["init", "-q"], check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no git binary")
    (tmp_path / "README.md").write_text("arXiv:2301.00001\n")
    subprocess.run(git + ["add", "README.md"], check=True)
    env = {"GIT_COMMITTER_DATE": "2018-06-07T12:00:00+00:00", "PATH": "/usr/bin:/bin"}
    subprocess.run(git + ["commit", "-qm", "x"], check=True, env=env)
    r = scan(tmp_path)
    assert r.reference_date == "2018-06-07"
    assert any(s.startswith("git HEAD commit ") and s.endswith("(2018-06-07)")
               for s in r.date_sources)


def _git_repo_with_packed_history(path, commits=30):
    """A repository whose objects all live in one pack, commits deltified (as a fresh clone
    or `git gc` leaves them); None without a git binary."""
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    try:
        subprocess.run(git[:3] + ["init", "-q"], check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    body = "x" * 3000  # long, similar messages: git stores most commits as deltas
    for i in range(1, commits + 1):
        (path / f"f{i % 3}").write_text(str(i))
        subprocess.run(git + ["add", "-A"], check=True)
        env = {"GIT_COMMITTER_DATE": f"2019-{i % 9 + 1:02d}-{i % 28 + 1:02d}T12:00:00+00:00",
               "PATH": "/usr/bin:/bin"}
        subprocess.run(git + ["commit", "-qm", f"{body} {i}"], check=True, env=env)
    subprocess.run(git + ["repack", "-adfq", "--window=250", "--depth=50"], check=True)
    subprocess.run(git + ["prune-packed"], check=True)
    return git


def test_a_packed_head_commit_gives_its_own_date(tmp_path):
    git = _git_repo_with_packed_history(tmp_path)
    if git is None:
        pytest.skip("no git binary")
    assert not [d for d in (tmp_path / ".git" / "objects").iterdir()
                if d.name not in ("pack", "info")]  # nothing loose
    want = subprocess.run(git + ["log", "-1", "--format=%cd", "--date=short"], check=True,
                          capture_output=True, text=True).stdout.strip()
    r = scan(tmp_path)
    assert r.reference_date == want == "2019-04-03"  # commit 30: month 30%9+1, day 30%28+1
    assert any(s.startswith("git HEAD commit ") for s in r.date_sources)


def test_every_packed_commit_matches_git_cat_file_deltas_included(tmp_path):
    git = _git_repo_with_packed_history(tmp_path)
    if git is None:
        pytest.skip("no git binary")
    shas = subprocess.run(git + ["rev-list", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.split()
    idx = next((tmp_path / ".git" / "objects" / "pack").glob("*.idx"))
    verify = subprocess.run(git + ["verify-pack", "-v", str(idx)], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    deltas = {ln.split()[0] for ln in verify if len(ln.split()) >= 7 and ln.split()[1] == "commit"}
    assert deltas & set(shas)  # the test covers delta resolution
    packs = history._packs(str(tmp_path), str(tmp_path / ".git"))
    for sha in shas:
        want = subprocess.run(git + ["cat-file", "commit", sha], check=True,
                              capture_output=True).stdout
        assert history._packed(str(tmp_path), sha, packs) == want
    assert history._packed(str(tmp_path), "0" * 40, packs) is None
