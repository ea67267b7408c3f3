# A 2019-style (torch 1.0-1.4) CUDA extension build, written as a test input for repro migrate:
# hard-coded C++11 and Maxwell/Pascal targets that today's torch and nvcc refuse.
import glob
import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

here = os.path.dirname(os.path.abspath(__file__))
sources = glob.glob(os.path.join(here, "csrc", "*.cpp")) + \
    glob.glob(os.path.join(here, "csrc", "cpu", "*.cpp")) + \
    glob.glob(os.path.join(here, "csrc", "cuda", "*.cu"))

setup(
    name="roialign",
    ext_modules=[CUDAExtension(
        "roialign._C", sources,
        extra_compile_args={"cxx": ["-O3", "-std=c++11"],
                            "nvcc": ["-std=c++11", "-gencode=arch=compute_52,code=sm_52",
                                     "-gencode=arch=compute_60,code=sm_60",
                                     "-gencode=arch=compute_75,code=sm_75"]})],
    cmdclass={"build_ext": BuildExtension},
)
