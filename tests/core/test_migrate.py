"""repro migrate: each codemod's before -> after (exact text, run under this torch/numpy/timm
where it can), a second run changes nothing, spans agree with scan, legacy fixtures run
after --write, a THC-era extension compiles after it, and the tree rules (links, parse
failures, atomic writes)."""
# ruff: noqa: E501  (the before/after table keeps each snippet line on one line)

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("libcst")

from repro_core import kb  # noqa: E402
from repro_core.errors import ReproError  # noqa: E402
from repro_core.match import python as match_python  # noqa: E402
from repro_core.migrate import MigrationResult, migrate  # noqa: E402
from repro_core.migrate.cpp import CODEMODS as CPP_CODEMODS  # noqa: E402
from repro_core.migrate.python import supported  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "migrate"
TARGET = "torch==2.14.1,timm==1.0.31,numpy==2.4,torchvision==0.29,pillow==12.0,python==3.11"

# codemod id -> (before, after, runs here): after is the exact expected text
CASES = {
    "np-builtin-aliases": ("import numpy as np\nx = np.zeros(2, dtype=np.float)  # keep\n"
                           "assert x.dtype == np.float64 and np.bool(1)\n",
                           "import numpy as np\nx = np.zeros(2, dtype=float)  # keep\n"
                           "assert x.dtype == np.float64 and np.bool(1)\n", True),
    "np2-expired-attrs": ("import numpy as np\nassert np.isnan(np.NaN) and np.Inf > 0 > np.NINF\n",
                          "import numpy as np\nassert np.isnan(np.nan) and np.inf > 0 > -np.inf\n",
                          True),
    "np2-product": ("import numpy as np\nassert np.product([2, 3]) == 6\n",
                    "import numpy as np\nassert np.prod([2, 3]) == 6\n", True),
    "np-in1d-trapz": ("from numpy import trapz\nassert trapz([1, 1]) == 1\n",
                      "from numpy import trapezoid as trapz\nassert trapz([1, 1]) == 1\n", True),
    # read and rewritten on its respelling (``async`` is reserved since Python 3.7)
    "torch-async-non-blocking": (
        "import torch\nx = torch.ones(2)\ny = torch.zeros(2).copy_(x, async=True)\n"
        "z = x.cuda if False else x.to('cpu', async=False)\nassert y.sum() == 2 == z.sum()\n",
        "import torch\nx = torch.ones(2)\ny = torch.zeros(2).copy_(x, non_blocking=True)\n"
        "z = x.cuda if False else x.to('cpu', non_blocking=False)\nassert y.sum() == 2 == z.sum()\n",
        True),
    "np-row-stack": ("import numpy as np\nassert np.row_stack([[1], [2]]).shape == (2, 1)\n",
                     "import numpy as np\nassert np.vstack([[1], [2]]).shape == (2, 1)\n", True),
    "scipy-private-modules": ("from scipy.ndimage.filters import gaussian_filter\n"
                              "import scipy.spatial.qhull as qhull\n"
                              "e = qhull.QhullError\n",
                              "from scipy.ndimage import gaussian_filter\n"
                              "import scipy.spatial as qhull\n"
                              "e = qhull.QhullError\n", False),
    "torch-hub-download-url": ("from torch.hub import _download_url_to_file\n"
                               "import torch\nassert callable(_download_url_to_file)\n"
                               "f = torch.hub._download_url_to_file\n",
                               "from torch.hub import download_url_to_file as _download_url_to_file\n"
                               "import torch\nassert callable(_download_url_to_file)\n"
                               "f = torch.hub.download_url_to_file\n", True),
    "pil-resampling": ("from PIL import Image\n"
                       "im = Image.new('RGB', (8, 8)).resize((4, 4), Image.ANTIALIAS)\n",
                       "from PIL import Image\n"
                       "im = Image.new('RGB', (8, 8)).resize((4, 4), Image.LANCZOS)\n", True),
    "py-collections-abc": ("import collections\nfrom collections import Mapping, OrderedDict\n"
                           "assert isinstance([], collections.Iterable)\n"
                           "assert issubclass(OrderedDict, Mapping)\n",
                           "import collections.abc\nimport collections\n"
                           "from collections import OrderedDict\n"
                           "from collections.abc import Mapping\n"
                           "assert isinstance([], collections.abc.Iterable)\n"
                           "assert issubclass(OrderedDict, Mapping)\n", True),
    "py2-modules": ("import cPickle\nimport cPickle as pickle\nfrom StringIO import StringIO\n"
                    "assert cPickle.loads(pickle.dumps(1)) == 1 and StringIO('a').read()\n",
                    "import pickle as cPickle\nimport pickle\nfrom io import StringIO\n"
                    "assert cPickle.loads(pickle.dumps(1)) == 1 and StringIO('a').read()\n",
                    True),
    "torch-six": ("import torch\nfrom torch._six import inf, string_classes, int_classes\n"
                  "assert isinstance('a', string_classes) and torch._six.inf == inf\n"
                  "assert int_classes is int\n",
                  "import torch\nfrom torch import inf\nstring_classes = (str, bytes)\n"
                  "int_classes = int\n"
                  "assert isinstance('a', string_classes) and torch.inf == inf\n"
                  "assert int_classes is int\n", True),
    "timm-layers": ("from timm.models.layers import DropPath, trunc_normal_  # moved\n"
                    "import timm.models.layers.helpers as h\nassert h.to_2tuple(3) == (3, 3)\n",
                    "from timm.layers import DropPath, trunc_normal_  # moved\n"
                    "import timm.layers.helpers as h\nassert h.to_2tuple(3) == (3, 3)\n", True),
    "timm-drop-qk-scale": ("from timm.models.vision_transformer import Block\n"
                           "b = Block(64, 4, qkv_bias=True, qk_scale=None,\n"
                           "          proj_drop=0.0)\n",
                           "from timm.models.vision_transformer import Block\n"
                           "b = Block(64, 4, qkv_bias=True,\n"
                           "          proj_drop=0.0)\n", True),
    "timm-drop-qk-scale-forwarded": (
        "from timm.models.vision_transformer import Block\n\n\ndef make(dim=64, qk_scale=None):\n"
        "    return Block(dim, 4, qk_scale=qk_scale)\n\n\nmake()\n",
        "from timm.models.vision_transformer import Block\n\n\ndef make(dim=64, qk_scale=None):\n"
        "    return Block(dim, 4)\n\n\nmake()\n", True),
    "timm-proj-drop": ("from timm.models.vision_transformer import Block\nb = Block(64, 4, drop=0.1)\n",
                       "from timm.models.vision_transformer import Block\n"
                       "b = Block(64, 4, proj_drop=0.1)\n", True),
    "timm-param-groups": ("import torch\nfrom timm.optim import optim_factory\n"
                          "g = optim_factory.add_weight_decay(torch.nn.Linear(2, 2), 0.05)\n",
                          "import torch\nfrom timm.optim import optim_factory\n"
                          "g = optim_factory.param_groups_weight_decay(torch.nn.Linear(2, 2), 0.05)\n",
                          True),
    "timm-models-private": ("from timm.models.registry import register_model\n",
                            "from timm.models import register_model\n", True),
    "torch-variable": ("import torch\nfrom torch.autograd import Variable, grad\n"
                       "x = Variable(torch.ones(2) * 2, requires_grad=True)\n"
                       "y = Variable(x + 1) * 3\nassert y.sum().item() == 18\n",
                       "import torch\nfrom torch.autograd import grad\n"
                       "x = (torch.ones(2) * 2).requires_grad_()\n"
                       "y = (x + 1) * 3\nassert y.sum().item() == 18\n", True),
    # CenterNet's scatter_gather.py (2019): the class test, then the import left unused
    "torch-variable-isinstance": ("from torch.autograd import Variable\nfrom torch import ones\n"
                                  "assert isinstance(ones(1), Variable) and not isinstance([1], (tuple, Variable))\n",
                                  "import torch\nfrom torch import ones\n"
                                  "assert isinstance(ones(1), torch.Tensor) and not isinstance([1], (tuple, torch.Tensor))\n",
                                  True),
    "torch-data-item": ("import torch\nloss = torch.tensor([2.5])\nprint(loss.data[0])\n",
                        "import torch\nloss = torch.tensor([2.5])\nprint(loss.item())\n", True),
    "torch-reduction": ("import torch.nn as nn\nimport torch.nn.functional as F\nimport torch\n"
                        "c = nn.MSELoss(size_average=False)\n"
                        "l = F.mse_loss(torch.ones(2), torch.zeros(2), reduce=False)\n"
                        "assert c(torch.ones(2), torch.zeros(2)).item() == 2 and l.shape == (2,)\n",
                        "import torch.nn as nn\nimport torch.nn.functional as F\nimport torch\n"
                        "c = nn.MSELoss(reduction=\"sum\")\n"
                        "l = F.mse_loss(torch.ones(2), torch.zeros(2), reduction=\"none\")\n"
                        "assert c(torch.ones(2), torch.zeros(2)).item() == 2 and l.shape == (2,)\n",
                        True),
    "torch-init-inplace": ("import torch\nfrom torch import nn\nw = torch.empty(2, 2)\n"
                           "nn.init.xavier_uniform(w)\nnn.init.constant(w, 1.0)\nassert w.sum() == 4\n",
                           "import torch\nfrom torch import nn\nw = torch.empty(2, 2)\n"
                           "nn.init.xavier_uniform_(w)\nnn.init.constant_(w, 1.0)\nassert w.sum() == 4\n",
                           True),
    "torch-upsample-interpolate": ("import torch\nimport torch.nn.functional as F\nx = torch.ones(1, 1, 2, 2)\n"
                                   "a = F.upsample(x, scale_factor=2)\nb = F.upsample_bilinear(x, size=(4, 4))\n"
                                   "assert a.shape == b.shape == (1, 1, 4, 4)\n",
                                   "import torch\nimport torch.nn.functional as F\nx = torch.ones(1, 1, 2, 2)\n"
                                   "a = F.interpolate(x, scale_factor=2)\n"
                                   "b = F.interpolate(x, size=(4, 4), mode=\"bilinear\", align_corners=True)\n"
                                   "assert a.shape == b.shape == (1, 1, 4, 4)\n", True),
    "torch-functional-sigmoid": ("import torch.nn.functional as F\nimport torch\n"
                                 "assert F.sigmoid(torch.zeros(1)).item() == 0.5\n",
                                 "import torch.nn.functional as F\nimport torch\n"
                                 "assert torch.sigmoid(torch.zeros(1)).item() == 0.5\n", True),
    "torch-amp-autocast": ("import torch\nwith torch.cuda.amp.autocast(False):\n    pass\n"
                           "with torch.cpu.amp.autocast(dtype=torch.bfloat16):\n    pass\n",
                           "import torch\nwith torch.amp.autocast(\"cuda\", enabled=False):\n    pass\n"
                           "with torch.amp.autocast(\"cpu\", dtype=torch.bfloat16):\n    pass\n", True),
    "torch-amp-gradscaler": ("import torch\ns = torch.cuda.amp.GradScaler(enabled=False)\n",
                             "import torch\ns = torch.amp.GradScaler(\"cuda\", enabled=False)\n", True),
    "torch-local-rank": ("import argparse\np = argparse.ArgumentParser()\n"
                         "p.add_argument('--local_rank', type=int, default=0)\n"
                         "assert p.parse_args(['--local-rank=2']).local_rank == 2\n",
                         "import os\nimport argparse\np = argparse.ArgumentParser()\n"
                         "p.add_argument('--local-rank', '--local_rank', type=int, "
                         "default=os.environ.get('LOCAL_RANK', 0))\n"
                         "assert p.parse_args(['--local-rank=2']).local_rank == 2\n", True),
    "torch-matrix-rank": ("import torch\nassert torch.matrix_rank(torch.eye(3)) == 3\n",
                          "import torch\nassert torch.linalg.matrix_rank(torch.eye(3)) == 3\n", True),
    "tv-scale-resize": ("from torchvision import transforms\nt = transforms.Scale(32)\n",
                        "from torchvision import transforms\nt = transforms.Resize(32)\n", True),
    "tv-functional-tensor": ("from torchvision.transforms.functional_tensor import rgb_to_grayscale\n",
                             "from torchvision.transforms.functional import rgb_to_grayscale\n", True),
    "tv-load-state-dict-from-url": (
        "from torchvision.models.utils import load_state_dict_from_url\n",
        "from torch.hub import load_state_dict_from_url\n", True),
    "torch-clip-grad-norm": ("import torch\nm = torch.nn.Linear(2, 2)\ntorch.nn.utils.clip_grad_norm(m.parameters(), 1.0)\n",
                             "import torch\nm = torch.nn.Linear(2, 2)\ntorch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)\n", True),
    "torch-guard-synchronize": ("import torch\n\n\ndef step():\n    torch.cuda.synchronize()  # timing\n"
                                "    if torch.cuda.is_available():\n        torch.cuda.synchronize()\n\n\nstep()\n",
                                "import torch\n\n\ndef step():\n    if torch.cuda.is_available():\n"
                                "        torch.cuda.synchronize()  # timing\n"
                                "    if torch.cuda.is_available():\n        torch.cuda.synchronize()\n\n\nstep()\n", True),
    "yaml-load-loader": ("import io\nimport yaml\nassert yaml.load(io.StringIO('a: 1')) == {'a': 1}\n",
                         "import io\nimport yaml\nassert yaml.load(io.StringIO('a: 1'), Loader=yaml.FullLoader) == {'a': 1}\n",
                         True),
    "timm-version-guard": ("import timm\nassert timm.__version__ == \"0.3.2\"  # version check\n",
                           "import timm\npass  # repro migrate: was assert timm.__version__ == \"0.3.2\"  # version check\n",
                           True),
    "torch-typed-constructor": (
        "import torch\nfrom torch import LongTensor\na = torch.FloatTensor(2, 3)\nb = LongTensor([1, 2])\n"
        "c = torch.ones(2, dtype=torch.float64).type(torch.FloatTensor)\nd = torch.ByteTensor()\n"
        "assert a.shape == (2, 3) and a.dtype == torch.float32 and b.tolist() == [1, 2]\n"
        "assert b.dtype == torch.int64 and c.dtype == torch.float32 and d.shape == (0,) and d.dtype == torch.uint8\n",
        "import torch\na = torch.empty(2, 3, dtype=torch.float32)\nb = torch.tensor([1, 2], dtype=torch.int64)\n"
        "c = torch.ones(2, dtype=torch.float64).to(device=\"cpu\", dtype=torch.float32)\nd = torch.empty(0, dtype=torch.uint8)\n"
        "assert a.shape == (2, 3) and a.dtype == torch.float32 and b.tolist() == [1, 2]\n"
        "assert b.dtype == torch.int64 and c.dtype == torch.float32 and d.shape == (0,) and d.dtype == torch.uint8\n", True),
    "torch-version-parse": (
        "import torch\nif float(torch.__version__[:3]) >= 2.2:  # SDPA\n    ok = True\nelse:\n    ok = False\n"
        "assert ok\n",
        "import torch\nif tuple(int(p) for p in torch.__version__.split(\".\")[:2]) >= (2, 2):  # SDPA\n    ok = True\n"
        "else:\n    ok = False\nassert ok\n", True),
    "pkg-resources": (
        "import pkg_resources\nv = pkg_resources.get_distribution('torch').version\nassert v.startswith('2.')\n",
        "import importlib.metadata\nv = importlib.metadata.version('torch')\nassert v.startswith('2.')\n", True),
    "skimage-metrics": (
        "from skimage.measure import compare_psnr, compare_ssim\nimport skimage.measure\n"
        "m = skimage.measure.compare_mse(a, b) + compare_psnr(a, b, data_range=1) + compare_ssim(a, b, data_range=1)\n",
        "import skimage.metrics\nfrom skimage.metrics import peak_signal_noise_ratio as compare_psnr, "
        "structural_similarity as compare_ssim\nimport skimage.measure\n"
        "m = skimage.metrics.mean_squared_error(a, b) + compare_psnr(a, b, data_range=1) + compare_ssim(a, b, data_range=1)\n", False),
    "scipy-misc-special": (
        "from scipy.misc import comb, logsumexp as lse\nimport scipy.misc\n"
        "f = scipy.misc.factorial(3) + comb(5, 2) + lse([0.0])\n",
        "import scipy.special\nfrom scipy.special import comb, logsumexp as lse\nimport scipy.misc\n"
        "f = scipy.special.factorial(3) + comb(5, 2) + lse([0.0])\n", False),
    "torch-data-item:receivers": (
        "import torch\na, b, loss = torch.ones(()), torch.ones(()), torch.ones(3)\n"
        "s = (a + b).data[0] + loss.sum().data[0] + torch.nn.MSELoss()(a, b).data[0]\nassert s == 5\n",
        "import torch\na, b, loss = torch.ones(()), torch.ones(()), torch.ones(3)\n"
        "s = (a + b).item() + loss.sum().item() + torch.nn.MSELoss()(a, b).item()\nassert s == 5\n", True),
    "py-imp": ("import imp\nimport json\nimp.reload(json)\n",
               "import importlib\nimport json\nimportlib.reload(json)\n", True),
    "distutils-setuptools": (
        "from distutils.core import setup, Extension\nimport shutil\nfrom distutils.spawn import find_executable\n"
        "assert find_executable('sh') and Extension('m', ['m.c']).name == 'm' and callable(setup)\n",
        "from setuptools import setup, Extension\nimport shutil\nfrom shutil import which as find_executable\n"
        "assert find_executable('sh') and Extension('m', ['m.c']).name == 'm' and callable(setup)\n", True),
    "cpp-std": ("args = {'cxx': ['-O2', '-std=c++14'], 'nvcc': ['-std=c++11']}\n",
                "args = {'cxx': ['-O2', '-std=c++20'], 'nvcc': ['-std=c++20']}\n", True),
    "cuda-drop-arch": ("flags = ['-O3', '-gencode=arch=compute_60,code=sm_60',\n"
                       "         '-gencode=arch=compute_80,code=sm_80']\n",
                       "flags = ['-O3',\n         '-gencode=arch=compute_80,code=sm_80']\n", True),
    "torch-saved-tensors": (
        "import torch\nclass Sq(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n        return x * x\n\n"
        "    @staticmethod\n    def backward(ctx, g):\n        x, = ctx.saved_variables  # the input\n        return 2 * x * g\n\n"
        "x = torch.ones(2, requires_grad=True)\nSq.apply(x).sum().backward()\nassert x.grad.tolist() == [2, 2]\n",
        "import torch\nclass Sq(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n        return x * x\n\n"
        "    @staticmethod\n    def backward(ctx, g):\n        x, = ctx.saved_tensors  # the input\n        return 2 * x * g\n\n"
        "x = torch.ones(2, requires_grad=True)\nSq.apply(x).sum().backward()\nassert x.grad.tolist() == [2, 2]\n", True),
    "torch-view-reshape": (
        "import torch\ndef accuracy(output, target, topk=(1,)):\n    _, pred = output.topk(max(topk), 1, True, True)\n    pred = pred.t()\n"
        "    correct = pred.eq(target.view(1, -1).expand_as(pred))\n    return [correct[:k].view(-1).float().sum(0) for k in topk]\n\n"
        "out = torch.eye(10)[:8] + 0.1 * torch.arange(10)\nacc1, acc5 = accuracy(out, torch.arange(8), topk=(1, 5))\nassert acc1 == 8 and acc5 == 8\n",
        "import torch\ndef accuracy(output, target, topk=(1,)):\n    _, pred = output.topk(max(topk), 1, True, True)\n    pred = pred.t()\n"
        "    correct = pred.eq(target.view(1, -1).expand_as(pred))\n    return [correct[:k].reshape(-1).float().sum(0) for k in topk]\n\n"
        "out = torch.eye(10)[:8] + 0.1 * torch.arange(10)\nacc1, acc5 = accuracy(out, torch.arange(8), topk=(1, 5))\nassert acc1 == 8 and acc5 == 8\n", True),
    # DeiT/Swin (2021): the import renamed, the local name kept; PIL's constants as reference
    "timm-pil-interp": ("from PIL import Image\nimport timm.data.transforms as T\nfrom timm.data.transforms import _pil_interp, ToNumpy\n"
                        "assert _pil_interp('bicubic') == Image.BICUBIC and T._pil_interp('lanczos') == Image.LANCZOS\n",
                        "from PIL import Image\nimport timm.data.transforms as T\nfrom timm.data.transforms import ToNumpy\nfrom timm.data.transforms import str_to_pil_interp as _pil_interp\n"
                        "assert _pil_interp('bicubic') == Image.BICUBIC and T.str_to_pil_interp('lanczos') == Image.LANCZOS\n", True),
    # DeiT's patchconvnet_models.py (2021): SE block of 8 channels keeps the shape
    "timm-models-underscore": ("import torch\nfrom timm.models.efficientnet_blocks import SqueezeExcite\nimport timm.models.efficientnet_builder as eb\n"
                               "assert SqueezeExcite(8)(torch.ones(2, 8, 3, 3)).shape == (2, 8, 3, 3) and eb.round_channels(30) == 32\n",
                               "import torch\nfrom timm.models._efficientnet_blocks import SqueezeExcite\nimport timm.models._efficientnet_builder as eb\n"
                               "assert SqueezeExcite(8)(torch.ones(2, 8, 3, 3)).shape == (2, 8, 3, 3) and eb.round_channels(30) == 32\n", True),
    # ConvNeXt's optim_factory.py (2022); one step moves the weight against its gradient
    "timm-optim-legacy": ("import torch\nfrom timm.optim.nadam import Nadam\nfrom timm.optim import radam\n"
                          "w = torch.nn.Parameter(torch.ones(2))\nopt = Nadam([w], lr=0.1)\nw.sum().backward()\nopt.step()\n"
                          "assert (w < 1).all() and radam.RAdam.__name__ == 'RAdamLegacy'\n",
                          "import torch\nfrom timm.optim.nadam import NAdamLegacy as Nadam\nfrom timm.optim import radam\n"
                          "w = torch.nn.Parameter(torch.ones(2))\nopt = Nadam([w], lr=0.1)\nw.sum().backward()\nopt.step()\n"
                          "assert (w < 1).all() and radam.RAdamLegacy.__name__ == 'RAdamLegacy'\n", True),
    # PoolFormer's train.py/validate.py (2022): split BN doubles the BatchNorm2d's buffers
    "timm-models-layer-names": ("import torch\nimport timm.models\nfrom timm.models import create_model, convert_splitbn_model\n"
                                "m = convert_splitbn_model(torch.nn.Sequential(torch.nn.BatchNorm2d(4)), 2)\n"
                                "assert len(m[0].aux_bn) == 1 and callable(timm.models.apply_test_time_pool)\n",
                                "import torch\nimport timm.models\nfrom timm.models import create_model\nfrom timm.layers import convert_splitbn_model\n"
                                "m = convert_splitbn_model(torch.nn.Sequential(torch.nn.BatchNorm2d(4)), 2)\n"
                                "assert len(m[0].aux_bn) == 1 and callable(timm.layers.apply_test_time_pool)\n", True),
}
# needs-review codemods: applied only when their rule is named
REVIEW_CASES = {
    "torch-load-weights-only": (
        "torch-load-weights-only",
        "import argparse, os, tempfile, torch\np = os.path.join(tempfile.mkdtemp(), 'c.pth')\n"
        "torch.save({'args': argparse.Namespace(lr=1)}, p)\nck = torch.load(p)\n",
        "import argparse, os, tempfile, torch\np = os.path.join(tempfile.mkdtemp(), 'c.pth')\n"
        "torch.save({'args': argparse.Namespace(lr=1)}, p)\nck = torch.load(p, weights_only=False)\n"),
    "pkg-resources-parse-version": (
        "pkg-resources-parse-version",
        "import pkg_resources\nassert pkg_resources.parse_version('1.10') > pkg_resources.parse_version('1.9')\n",
        "import packaging.version\n"
        "assert packaging.version.parse('1.10') > packaging.version.parse('1.9')\n"),
    "py-fractions-gcd": (
        "py-fractions-gcd",
        "import fractions\nfrom fractions import gcd\nassert gcd(4, 6) == fractions.gcd(4, 6) == 2\n",
        "import math\nimport fractions\nfrom math import gcd\nassert gcd(4, 6) == math.gcd(4, 6) == 2\n"),
    "np-fromstring-frombuffer": (
        "np-fromstring-binary",
        "import numpy as np\na = np.fromstring(b'\\x01\\x02', dtype=np.uint8)\n"
        "b = np.fromstring('1 2', dtype=int, sep=' ')\nassert list(a) == [1, 2] == list(b)\n",
        "import numpy as np\na = np.frombuffer(b'\\x01\\x02', dtype=np.uint8)\n"
        "b = np.fromstring('1 2', dtype=int, sep=' ')\nassert list(a) == [1, 2] == list(b)\n"),
    "py-time-clock": (
        "py-time-clock",
        "import time\nfrom time import clock\nt0 = time.clock()\nassert clock() >= 0 and t0 >= 0\n",
        "import time\nfrom time import perf_counter as clock\nt0 = time.perf_counter()\n"
        "assert clock() >= 0 and t0 >= 0\n"),
    "distutils-version": (
        "py-distutils-version",
        "from distutils.version import LooseVersion\nassert LooseVersion('1.10') > LooseVersion('1.9')\n",
        "from packaging.version import Version as LooseVersion\nassert LooseVersion('1.10') > LooseVersion('1.9')\n"),
    "torch-version-parse": (
        "torch-version-string",
        "import torch\nok = torch.__version__ >= \"1.7\"\nassert ok\n",
        "import packaging.version\nimport torch\n"
        "ok = packaging.version.parse(torch.__version__) >= packaging.version.parse(\"1.7\")\nassert ok\n"),
    "torch-volatile-no-grad": (
        "torch-variable-volatile",
        "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1), volatile=True)\n",
        "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"),
    # (runs, idempotence and the port of a Function with __init__ arguments: test_migrate_legacy_torch.py)
    "torch-static-function": (
        "torch-legacy-function",
        "import torch\nclass Double(torch.autograd.Function):\n    def forward(self, x):\n        return x * 2\n\n"
        "    def backward(self, g):\n        return g * 2\n\ny = Double()(torch.ones(2))\n",
        "import torch\nclass Double(torch.autograd.Function):\n    @staticmethod\n    def forward(self, x):\n        return x * 2\n\n"
        "    @staticmethod\n    def backward(self, g):\n        return g * 2\n\ny = Double.apply(torch.ones(2))\n"),
    "torch-vector-norm": (
        "torch-norm",
        "import torch\nx = torch.arange(6.0).reshape(2, 3)\nd = torch.norm(x, p=2, dim=1)\n",
        "import torch\nx = torch.arange(6.0).reshape(2, 3)\nd = torch.linalg.vector_norm(x, ord=2, dim=1)\n"),
    # SimCLR's simclr.py (2020): the logged rate; get_lr() gave 0.25, one step ahead
    "torch-get-last-lr": (
        "torch-lr-scheduler-get-lr",
        "import torch\nw = torch.nn.Parameter(torch.ones(1))\nopt = torch.optim.SGD([w], lr=1.0)\n"
        "sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)\nopt.step()\nsched.step()\n"
        "lr = sched.get_lr()[0]\nassert lr == opt.param_groups[0]['lr'] == 0.5\n",
        "import torch\nw = torch.nn.Parameter(torch.ones(1))\nopt = torch.optim.SGD([w], lr=1.0)\n"
        "sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)\nopt.step()\nsched.step()\n"
        "lr = sched.get_last_lr()[0]\nassert lr == opt.param_groups[0]['lr'] == 0.5\n"),
    "timm-optim-module": (
        "timm-optim-factory",
        "import timm.optim.optim_factory as optim_factory\nfrom timm.optim.optim_factory import create_optimizer_v2\n",
        "import timm.optim as optim_factory\nfrom timm.optim import create_optimizer_v2\n"),
}


def _target_installed() -> bool:
    """Whether this interpreter has the TARGET stack (or newer) the rewritten code is for;
    the older nox rows (torch 1.10, numpy 1.21, timm 0.4) and the no-torch row do not."""
    from importlib import metadata

    for req in TARGET.split(","):
        name, _, version = req.partition("==")
        try:
            have = (".".join(map(str, sys.version_info[:3])) if name == "python"
                    else metadata.version(name))
        except metadata.PackageNotFoundError:
            return False
        if _release(have)[:2] < _release(version)[:2]:
            return False
    return True


def _release(version: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", version.split("+")[0])[:3])


def _run(code: str, cwd: Path) -> None:
    if not _target_installed():
        pytest.skip(f"runs only on the target stack ({TARGET})")
    p = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=str(cwd),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]


def _one(tmp_path: Path, text: str, mode: str = "write", target: str = TARGET,
         **kw) -> MigrationResult:
    (tmp_path / "m.py").write_text(text)
    return migrate(str(tmp_path), target=target, mode=mode, **kw)


@pytest.mark.parametrize("codemod", sorted(CASES))
def test_codemod_before_after(tmp_path: Path, codemod: str) -> None:
    before, after, runs = CASES[codemod]
    target = TARGET + (",python==3.12" if codemod in ("distutils-setuptools", "py-imp") else "")
    # pkg_resources is gone in setuptools 82; without it in the target the installed setuptools
    # counts (older on the Python 3.8 row, where the rule does not apply yet)
    target += ",setuptools==82.0" if codemod == "pkg-resources" else ""
    res = _one(tmp_path, before, target=target)
    assert (tmp_path / "m.py").read_text() == after
    assert any(kb.rule(c.rule).codemod == codemod.split(":")[0].replace("-forwarded", "")
               for c in res.changes), res.changes
    again = migrate(str(tmp_path), target=target, mode="check")
    assert not again.changes and (tmp_path / "m.py").read_text() == after  # idempotent
    if runs and codemod not in ("cpp-std", "cuda-drop-arch"):
        _run(after, tmp_path)


@pytest.mark.parametrize("codemod", sorted(REVIEW_CASES))
def test_review_codemods_need_their_rule(tmp_path: Path, codemod: str) -> None:
    rule, before, after = REVIEW_CASES[codemod]
    res = _one(tmp_path, before, mode="check", target=TARGET + ",python==3.12")
    assert any(c.rule == rule for c in res.review)
    assert not any(c.rule == rule for c in res.changes)  # reported, not applied
    res = migrate(str(tmp_path), target=TARGET, mode="write", rules=[rule])
    assert (tmp_path / "m.py").read_text() == after
    assert {c.rule for c in res.changes} == {rule}
    if codemod in ("torch-load-weights-only", "pkg-resources-parse-version", "distutils-version",
                   "py-fractions-gcd", "py-time-clock", "np-fromstring-frombuffer",
                   "torch-version-parse", "torch-static-function", "torch-vector-norm",
                   "timm-optim-module", "torch-get-last-lr"):
        _run(after, tmp_path)


def test_every_implemented_codemod_has_a_case() -> None:
    ids = {r.codemod for r in kb.rules() if r.codemod and r.source == "python"
           and supported(r.codemod)}
    assert ids <= set(CASES) | set(REVIEW_CASES)
    cpp_ids = {r.codemod for r in kb.rules(kind="cpp") if r.codemod}
    assert cpp_ids & set(CPP_CODEMODS) == cpp_ids


def test_spans_are_the_matchers(tmp_path: Path) -> None:
    text = CASES["torch-reduction"][0] + CASES["np2-expired-attrs"][0]
    (tmp_path / "m.py").write_text(text)
    res = migrate(str(tmp_path), target=TARGET, mode="check")
    found = {(m.rule.id, m.line, m.col, m.end_line, m.end_col)
             for m in match_python.find("m.py", text)}
    assert res.changes
    for c in res.changes:
        assert (c.rule, c.line, c.col, c.end_line, c.end_col) in found
    assert (tmp_path / "m.py").read_text() == text  # check writes nothing


def test_target_skips_rules_the_old_stack_still_has(tmp_path: Path) -> None:
    text = "import numpy as np\nx = np.float(1)\n"
    (tmp_path / "m.py").write_text(text)
    res = migrate(str(tmp_path), target="numpy==1.21", mode="write")
    assert not res.changes and "np-builtin-aliases" in res.skipped_rules
    assert (tmp_path / "m.py").read_text() == text
    (tmp_path / "m.py").write_text("import torch\nscaler = torch.cuda.amp.GradScaler()\n")
    res = migrate(str(tmp_path), target="torch==1.9", mode="check")  # torch.amp.GradScaler: 2.3
    assert not res.changes and "needs torch>=2.3" in res.skipped_rules["torch-cuda-amp-gradscaler"]
    res = migrate(str(tmp_path), target="torch==2.14", mode="check")
    assert [c.rule for c in res.changes] == ["torch-cuda-amp-gradscaler"]


def test_json_round_trip(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CASES["torch-variable"][0])
    res = migrate(str(tmp_path), target=TARGET, mode="diff")
    assert "+x = (torch.ones(2) * 2).requires_grad_()" in res.diff
    assert MigrationResult.from_json(res.to_json()) == res


def test_unparsable_file_left_alone_and_links_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    outside = tmp_path / "outside.py"
    outside.write_text("import numpy as np\nx = np.float(1)\n")
    (repo / "link.py").symlink_to(outside)
    (repo / "linkdir").symlink_to(tmp_path)
    (repo / "py2.py").write_text("import numpy as np\nprint 'x', np.float\n")
    (repo / "ok.py").write_text("import numpy as np\nx = np.float(1)\n")
    res = migrate(str(repo), target=TARGET, mode="write")
    assert outside.read_text() == "import numpy as np\nx = np.float(1)\n"
    assert (repo / "ok.py").read_text() == "import numpy as np\nx = float(1)\n"
    assert [f.path for f in res.failed] == ["py2.py"]
    assert (repo / "py2.py").read_text() == "import numpy as np\nprint 'x', np.float\n"
    assert not list(repo.glob(".*.tmp"))
    with pytest.raises(ReproError):
        migrate(str(repo / "link.py"), target=TARGET)
    with pytest.raises(ReproError):
        migrate(str(repo), rules=["no-such-rule"])


@pytest.mark.parametrize("name", ["gan2018", "vit2021"])
def test_legacy_fixture_runs_after_write(tmp_path: Path, name: str) -> None:
    repo = tmp_path / name
    shutil.copytree(DATA / name, repo)
    res = migrate(str(repo), target=TARGET, mode="write")
    assert res.changes and not res.failed
    script = "train.py" if name == "gan2018" else "main.py"
    if not _target_installed():
        pytest.skip(f"runs only on the target stack ({TARGET})")
    p = subprocess.run([sys.executable, script], cwd=str(repo), capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert ("sample (2, 1, 8, 8)" if name == "gan2018" else "ok (2, 64)") in p.stdout
    again = migrate(str(repo), target=TARGET, mode="check")
    assert not again.changes


def test_legacy_fixture_fails_before(tmp_path: Path) -> None:
    repo = tmp_path / "vit"
    shutil.copytree(DATA / "vit2021", repo)
    if not _target_installed():
        pytest.skip(f"fails for torch._six only on the target stack ({TARGET})")
    p = subprocess.run([sys.executable, "main.py"], cwd=str(repo), capture_output=True,
                       text=True, timeout=600)
    assert p.returncode != 0 and "torch._six" in p.stderr


def _syntax_check(src: Path) -> "subprocess.CompletedProcess[str]":
    import sysconfig

    torch_dir = Path(sys.executable).resolve().parents[1]
    site = Path(sysconfig.get_paths()["purelib"])
    inc = site / "torch" / "include"
    if not inc.is_dir() or shutil.which("g++") is None:
        pytest.skip("needs torch headers and g++")
    flags = [f"-I{inc}", f"-I{inc / 'torch/csrc/api/include'}",
             f"-I{sysconfig.get_paths()['include']}"]
    for d in [Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "include",
              *site.glob("nvidia/cu*/include")]:
        flags.append(f"-I{d}")
    del torch_dir
    return subprocess.run(["g++", "-std=c++20", "-fsyntax-only", *flags, str(src)],
                          capture_output=True, text=True, timeout=600)


def test_thc_extension_compiles_after(tmp_path: Path) -> None:
    if not _target_installed():
        pytest.skip(f"compiles against the target torch's headers only ({TARGET})")
    repo = tmp_path / "ext"
    shutil.copytree(DATA / "vit2021" / "csrc", repo)
    src = repo / "roi_pool.cpp"
    before = _syntax_check(src)
    assert before.returncode != 0 and "THC/THC.h" in before.stderr
    res = migrate(str(repo), target=TARGET, mode="write")
    text = src.read_text()
    assert "THCudaCheck(cudaGetLastError())" not in text and "C10_CUDA_CHECK(cudaGetLastError())" in text
    assert "// Comments that mention THCudaCheck( or AT_CHECK( are left alone." in text
    assert 'TORCH_CHECK(pooled > 0, "pooled must be positive, got %d", (int)pooled);' in text
    assert '"input must be NCHW; see AT_CHECK( in the docs"' in text  # strings untouched
    assert {c.rule for c in res.changes} >= {"cpp-thc-include", "cpp-thcstate", "cpp-at-check",
                                             "cpp-type-is-cuda", "cpp-thcceildiv",
                                             "cpp-dispatch-type", "cpp-data-template",
                                             "cpp-thcudacheck"}
    after = _syntax_check(src)
    assert after.returncode == 0, after.stderr[-3000:]
    cuda_src = repo / "roi_pool_cuda.cpp"
    text = cuda_src.read_text()
    assert "c10::cuda::CUDACachingAllocator::raw_alloc(n * sizeof(float))" in text
    assert "cudaStream_t stream = at::cuda::getCurrentCUDAStream();" in text
    assert "c10::cuda::CUDACachingAllocator::raw_delete(buf)" in text
    after = _syntax_check(cuda_src)
    assert after.returncode == 0, after.stderr[-3000:]
    assert not migrate(str(repo), target=TARGET, mode="check").changes


def test_cpp_every_match_on_a_line(tmp_path: Path) -> None:
    src = tmp_path / "a.cpp"
    src.write_text("void f(at::Tensor a) { g(a.data<float>(), a.data<int>()); }  // a.data<T>()\n")
    res = migrate(str(tmp_path), target=TARGET, mode="write")
    assert src.read_text() == ("void f(at::Tensor a) { g(a.data_ptr<float>(), "
                               "a.data_ptr<int>()); }  // a.data<T>()\n")
    assert len(res.changes) == 2
    assert not migrate(str(tmp_path), target=TARGET, mode="check").changes
