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
