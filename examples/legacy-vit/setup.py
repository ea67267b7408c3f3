import os

import torch
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension, CUDA_HOME

sources = ["csrc/smooth_onehot.cpp"]
define_macros = []
extension = CppExtension
extra_compile_args = {"cxx": ["-O2"]}

# like most repos of the time: build the CUDA kernel only when a GPU is there
if torch.cuda.is_available() and CUDA_HOME is not None or os.getenv("FORCE_CUDA", "0") == "1":
    extension = CUDAExtension
    sources += ["csrc/smooth_onehot_cuda.cu"]
    define_macros += [("WITH_CUDA", None)]
    extra_compile_args["nvcc"] = [
        "-O2",
        "-gencode=arch=compute_60,code=sm_60",
        "-gencode=arch=compute_70,code=sm_70",
        "-gencode=arch=compute_75,code=sm_75",
        "-gencode=arch=compute_80,code=sm_80",
        "-gencode=arch=compute_86,code=sm_86",
    ]

setup(
    name="tinyvit",
    version="0.1",
    packages=["vit"],
    ext_modules=[
        extension(
            "vit._C",
            sources,
            define_macros=define_macros,
            extra_compile_args=extra_compile_args,
        )
    ],
    cmdclass={"build_ext": BuildExtension},
)
