import sys
from torch.utils.cpp_extension import load

# extension objects built with the pre-C++11 string ABI (as torch<2.7 pip wheels were)
load(name="stale_ext", sources=["stale_ext.cpp"], build_directory=sys.argv[1],
     extra_cflags=["-U_GLIBCXX_USE_CXX11_ABI", "-D_GLIBCXX_USE_CXX11_ABI=0"], verbose=True)
