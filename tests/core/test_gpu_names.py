"""GPU names: the product names NVML/nvidia-smi report resolve; made-up names are refused."""

import pytest

from repro_core import compat, kb
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import Hardware

# Product names as nvidia-smi --query-gpu=name / nvmlDeviceGetName print them (NVIDIA data
# sheets and nvidia-smi output), with the capability of developer.nvidia.com/cuda-gpus.
NVML_NAMES = [
    ("NVIDIA GeForce RTX 4090", "RTX 4090", "8.9"),
    ("NVIDIA GeForce RTX 4090 D", "RTX 4090", "8.9"),
    ("NVIDIA GeForce RTX 4070 Ti SUPER", "RTX 4070", "8.9"),
    ("NVIDIA GeForce RTX 4060 Laptop GPU", "RTX 4060", "8.9"),
    ("NVIDIA GeForce RTX 3080 Ti", "RTX 3080", "8.6"),
    ("NVIDIA GeForce RTX 3050 Ti Laptop GPU", "RTX 3050", "8.6"),
    ("NVIDIA GeForce RTX 2080 SUPER", "RTX 2080", "7.5"),
    ("NVIDIA GeForce RTX 2070 with Max-Q Design", "RTX 2070", "7.5"),
    ("NVIDIA GeForce GTX 1080 Ti", "GTX 1080", "6.1"),
    ("NVIDIA GeForce GTX 1660 SUPER", "GTX 1660", "7.5"),
    ("NVIDIA GeForce RTX 5090", "RTX 5090", "12.0"),
    ("NVIDIA H100 80GB HBM3", "H100", "9.0"),
    ("NVIDIA H100 PCIe", "H100", "9.0"),
    ("NVIDIA H100 NVL", "H100", "9.0"),
    ("NVIDIA H200", "H200", "9.0"),
    ("NVIDIA H200 NVL", "H200", "9.0"),
    ("NVIDIA H800 PCIe", "H800", "9.0"),
    ("NVIDIA GH200 480GB", "GH200", "9.0"),
    ("NVIDIA A100-SXM4-80GB", "A100", "8.0"),
    ("NVIDIA A100-SXM4-40GB", "A100", "8.0"),
    ("NVIDIA A100-PCIE-40GB", "A100", "8.0"),
    ("NVIDIA A100 80GB PCIe", "A100", "8.0"),
    ("NVIDIA A800-SXM4-80GB", "A800", "8.0"),
    ("NVIDIA A10G", "A10G", "8.6"),
    ("NVIDIA A10", "A10", "8.6"),
    ("NVIDIA A2", "A2", "8.6"),
    ("NVIDIA L4", "L4", "8.9"),
    ("NVIDIA L40S", "L40S", "8.9"),
    ("NVIDIA RTX A6000", "RTX A6000", "8.6"),
    ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada", "8.9"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX PRO 6000 Blackwell", "12.0"),
    ("NVIDIA B200", "B200", "10.0"),
    ("Quadro RTX 8000", "Quadro RTX 8000", "7.5"),
    ("NVIDIA TITAN RTX", "Titan RTX", "7.5"),
    ("NVIDIA TITAN V", "Titan V", "7.0"),
    ("NVIDIA TITAN Xp", "Titan Xp", "6.1"),
    ("NVIDIA TITAN X (Pascal)", "Titan X Pascal", "6.1"),
    ("GeForce GTX TITAN X", "GTX Titan X", "5.2"),
    ("Tesla V100-SXM2-16GB", "V100", "7.0"),
    ("Tesla V100-SXM2-32GB", "V100", "7.0"),
    ("Tesla V100-PCIE-16GB", "V100", "7.0"),
    ("Tesla V100-DGXS-32GB", "V100", "7.0"),
    ("Tesla V100-FHHL-16GB", "V100", "7.0"),
    ("Tesla V100S-PCIE-32GB", "V100S", "7.0"),
    ("Tesla P100-PCIE-16GB", "P100", "6.0"),
    ("Tesla P100-SXM2-16GB", "P100", "6.0"),
    ("Tesla P40", "P40", "6.1"),
    ("Tesla P4", "P4", "6.1"),
    ("Tesla T4", "T4", "7.5"),
    ("Tesla M40 24GB", "M40", "5.2"),
    ("Tesla K80", "K80", "3.7"),
]


@pytest.mark.parametrize("given,name,cc", NVML_NAMES)
def test_nvml_product_names_resolve(given, name, cc):
    assert compat.gpu_cc(given) == (compat.parse_cc(cc), name)
    assert kb.gpu(given.swapcase().replace("-", "  ")).name == name  # case/spacing-insensitive
    assert kb.gpu(name.replace(" ", "").lower()).name == name


@pytest.mark.parametrize("given,closest", [
    ("RTX 40901234", "RTX 4090"),  # issue 14: was an RTX 4090
    ("H100zzzz-fake", "H100"),  # issue 14: was an H100
    ("A1000", "A100"),
    ("Tesla V100-SXM2-16GB-extra", "V100"),
    ("RTX 4090 Ultra", "RTX 4090"),
])
def test_made_up_names_are_refused_with_the_closest(given, closest):
    assert kb.gpu(given) is None
    with pytest.raises(ReproError, match=r"^unknown GPU name .*\(closest known: ") as e:
        compat.gpu_cc(given)
    assert closest in str(e.value).split("closest known: ")[1].split(")")[0].split(", ")
    with pytest.raises(BadValue) as bv:
        Hardware.stated(gpu=given)
    assert bv.value.field == "gpu" and "\n" not in str(bv.value)


def test_every_known_name_resolves_to_itself_with_suffixes():
    for g in kb.gpus():
        assert kb.gpu(g.name) == g
        if not g.name.startswith("Jetson"):
            assert kb.gpu(f"NVIDIA {g.name} 80GB PCIe") == g


def test_no_close_name_for_something_else():
    with pytest.raises(ReproError, match=r"^unknown GPU name 'Radeon RX 7900'; give its compute"):
        compat.gpu_cc("Radeon RX 7900")
