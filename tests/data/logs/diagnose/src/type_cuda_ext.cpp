#include <torch/extension.h>

at::Tensor scale(at::Tensor x) {
  TORCH_CHECK(!x.type().is_cuda(), "expected a CPU tensor");
  return x * 2;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("scale", &scale); }
