"""Every breakage rule in kb/data/rules is checked against its own examples: each 'trigger'
snippet must produce the rule, each 'clean' snippet must not. Adding a rule is adding a row."""

import pytest
from packaging.requirements import Requirement

from repro_core import kb
from repro_core.kb.rules import Rule
from repro_core.match import cpp, python, requirements
from repro_core.scan.collector import Collector
from repro_core.scan.requirements import read as read_requirements

ALL = kb.rules()


def _detected(rule: Rule, snippet: str) -> set:
    """Rule ids the matcher of the rule's source kind finds in the snippet (each match's text
    is the snippet's text at its span)."""
    if rule.source == "python":
        found = python.find("x.py", snippet)
    elif rule.source == "cpp":
        found = cpp.find("x.cu", snippet)
    else:
        col = Collector()  # the requirements reader states them, as scan does
        read_requirements(col, ".", "requirements.txt", snippet, lambda rel: None)
        stated = [requirements.Stated(r.name, r.specifier, "requirements.txt",
                                      int(r.source.rpartition(":")[2])) for r in col.requirements]
        found = requirements.find(stated, read=lambda path: snippet)
    for m in found:
        assert snippet[m.start:m.end] == m.text and m.path in ("x.py", "x.cu", "requirements.txt")
    return {m.rule.id for m in found}


@pytest.mark.parametrize("rule", ALL, ids=[r.id for r in ALL])
def test_rule_triggers_on_its_examples(rule):
    for snippet in rule.examples["trigger"]:
        assert rule.id in _detected(rule, snippet), snippet


@pytest.mark.parametrize("rule", ALL, ids=[r.id for r in ALL])
def test_rule_stays_silent_on_clean_code(rule):
    for snippet in rule.examples["clean"]:
        assert rule.id not in _detected(rule, snippet), snippet


@pytest.mark.parametrize("rule", ALL, ids=[r.id for r in ALL])
def test_rule_record_is_complete(rule):
    assert rule.message and rule.fix and rule.library
    if rule.bound:
        req = Requirement(rule.bound)
        assert str(req.specifier)
        # an old API (removed) gives an upper bound, a new one (introduced) a lower bound
        ops = {s.operator for s in req.specifier}
        if rule.introduced:
            assert ops <= {">=", ">"}, rule.id
        elif rule.removed:
            assert ops & {"<", "<=", "!="}, rule.id


def test_ids_are_unique_and_many():
    ids = [r.id for r in ALL]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert {r.library for r in ALL} >= {"torch", "timm", "torchvision", "numpy", "pillow", "scipy",
                                          "python", "setuptools", "cuda"}


def test_issue_examples_give_bounds_in_both_directions():
    def bound(rid):
        return kb.rule(rid).bound

    # upper bounds for old APIs ...
    assert bound("torch-six") == "torch<2.0"
    assert bound("torch-utils-ffi") == "torch<1.0"
    assert bound("torch-data-index") == "torch<1.0"
    assert bound("np-builtin-aliases") == "numpy<1.24"
    assert bound("timm-block-qk-scale") == "timm<0.4.12"
    # ... lower bounds for new ones
    assert bound("torch-compile") == "torch>=2.0"
    assert bound("torch-sdpa") == "torch>=2.0"
    assert bound("torch-amp-autocast") == "torch>=1.12"
    assert bound("timm-layers") == "timm>=0.9"


def test_alias_resolution_follows_imports():
    src = "import torch.nn.functional as Fn\nfrom torch import nn as N\ny = Fn.upsample(x)\n" \
          "N.init.xavier_uniform(w)\n"
    got = {(m.rule.id, m.line) for m in python.find("x.py", src)}
    assert ("torch-upsample", 3) in got and ("torch-init-no-underscore", 4) in got


def test_unknown_rule_id_is_an_error():
    from repro_core.errors import ReproError

    with pytest.raises(ReproError, match="unknown rule id"):
        kb.rule("no-such-rule")
