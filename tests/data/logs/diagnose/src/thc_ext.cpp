#include <torch/extension.h>
#include <THC/THC.h>

extern THCState *state;

at::Tensor scale(at::Tensor x) { return x * 2; }

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("scale", &scale); }
