import os

from torch.utils.ffi import create_extension

sources = ['src/roi_pooling.c']
extra_objects = ['src/roi_pooling.cu.o']
ffi = create_extension('_ext.roi_pooling', headers=['src/roi_pooling_cuda.h'],
                       sources=['src/roi_pooling_cuda.c'], with_cuda=True,
                       extra_objects=extra_objects,
                       extra_compile_args=['-std=c++11'])

if __name__ == '__main__':
    ffi.build()
