"""Rule bounds checked against the released wheels (issue 9: "check every other bound in the
rules that has no test against the real wheel or source"). Each row names what was read in
which wheels (downloaded with `pip download --no-deps` on 2026-12-01, files inspected with
`unzip -p`); the test pins the rule's bound to that evidence, so a later edit of the rule
must revisit it."""

import pytest
from packaging.version import Version

from repro_core import kb

# (rule id, bound, evidence: the last release that still has the API, the first without it)
CHECKED = [
    ("timm-032-torch-six", "torch<1.9",
     "timm 0.3.2 timm/models/layers/helpers.py: `from torch._six import container_abcs`; "
     "torch/_six.py defines container_abcs in the 1.8.0 and 1.8.1 wheels, not in 1.9.0"),
    ("timm-block-qk-scale", "timm<0.4.12",
     "timm 0.4.9 vision_transformer.py: Attention/Block(..., qk_scale=None, ...); "
     "timm 0.4.12: no qk_scale"),
    ("timm-add-weight-decay", "timm<0.6.5",
     "timm 0.5.4 optim/optim_factory.py: def add_weight_decay; timm 0.6.5: only "
     "param_groups_weight_decay (0.6.5 is the first 0.6 release on PyPI)"),
    ("timm-layers-submodules", "timm<0.9",
     "timm 0.6.13 ships timm/models/layers/{helpers,drop,mlp,...}.py; timm 0.9.2 ships only "
     "timm/models/layers/__init__.py"),
    ("timm-block-drop", "timm<0.9",
     "timm 0.6.13 vision_transformer.Block(..., drop=0., attn_drop=0., ...); timm 0.9.2: "
     "proj_drop=0. instead of drop"),
    ("pil-antialias", "pillow<10",
     "Pillow 9.5.0 PIL/Image.py maps 'ANTIALIAS' -> LANCZOS (deprecated); Pillow 10.0.0 has "
     "no ANTIALIAS"),
    ("yaml-load-loader", "pyyaml<6",
     "PyYAML 5.4.1 yaml/__init__.py: def load(stream, Loader=None); PyYAML 6.0: "
     "def load(stream, Loader)"),
    ("np-builtin-aliases", "numpy<1.24",
     "numpy 1.23.5 numpy/__init__.py: object/bool/float/complex/str/int in "
     "__deprecated_attrs__ (a warning); numpy 1.24.0: gone (AttributeError), bool and long "
     "listed in __future_scalars__"),
    ("np-bool-long", "numpy!=1.24.*,!=1.25.*,!=1.26.*",
     "numpy 1.23.5: __deprecated_attrs__['long']; numpy 1.26.4 numpy/__init__.py: "
     "`del long, unicode`; numpy 2.0.0 imports bool and long from _core again"),
    ("timm-pil-interp", "timm<0.5.4",
     "timm 0.4.12 timm/data/transforms.py: def _pil_interp; timm 0.5.4 (the next release on "
     "PyPI): only str_to_pil_interp"),
    ("timm-efficientnet-private", "timm<0.9",
     "timm 0.6.13 ships timm/models/efficientnet_blocks.py and efficientnet_builder.py; timm "
     "0.9.2 and 1.0.31 only the _efficientnet_* modules"),
    ("timm-optim-legacy", "timm<1.0.12",
     "timm 1.0.11 optim/nadam.py: class Nadam, radam.py: class RAdam; timm 1.0.12: the same "
     "code named NAdamLegacy/RAdamLegacy (diff of the two files: the names and docstrings)"),
    ("timm-models-layer-names", "timm<0.9",
     "timm 0.6.13 timm/models/__init__.py: `from .layers import TestTimePoolHead, "
     "apply_test_time_pool` (and convert_splitbn_model, set_scriptable, ...); timm 0.9.2 and "
     "1.0.31: no `layers` import there, the names are in timm.layers"),
    ("torch-hub-download-private", "torch<1.12",
     "torch/hub.py defines _download_url_to_file in the 1.0.1, 1.1.0, 1.5.0, 1.6.0, 1.8.0, "
     "1.9.0 and 1.11.0 wheels (macOS x86_64, the smallest on PyPI); 1.12.0 and 1.13.1 have "
     "only download_url_to_file"),
    ("torch-model-zoo-download-private", "torch<1.1",
     "torch 1.0.1 torch/utils/model_zoo.py: def _download_url_to_file(url, dst, hash_prefix, "
     "progress); 1.1.0: model_zoo.py only imports tqdm and load_url from torch.hub"),
    ("np-load-pickle", "numpy<1.16.3",
     "numpy 1.16.2 numpy/lib/npyio.py: def load(file, mmap_mode=None, allow_pickle=True, ...); "
     "1.16.3: allow_pickle=False"),
]


@pytest.mark.parametrize("rule_id,bound,evidence", CHECKED, ids=[c[0] for c in CHECKED])
def test_bound_matches_the_wheels(rule_id, bound, evidence):
    rule = kb.rule(rule_id)
    assert rule.bound == bound, evidence
    # the rule's own removal version is the first release without the API
    specs = list(rule.requirement.specifier)
    if len(specs) == 1 and specs[0].operator == "<" and rule.removed:
        # the rule's own removal version is the first release without the API
        assert Version(specs[0].version) == Version(rule.removed)
