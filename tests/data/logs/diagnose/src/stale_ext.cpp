#include <torch/extension.h>

at::Tensor scale(at::Tensor x) {
  TORCH_CHECK(x.dim() == 2, "expected a 2-d tensor, got ", x.dim());
  return x * 2;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("scale", &scale); }
