import sys
from torch.utils.cpp_extension import load

load(name=sys.argv[1].split(".")[0], sources=[sys.argv[1]], build_directory=sys.argv[2], verbose=True)
