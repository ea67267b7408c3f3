#include <torch/extension.h>

at::Tensor scale(at::Tensor x) {
  AT_CHECK(x.dim() == 2, "expected a 2-d tensor");
  THCudaCheck(cudaGetLastError());
  int blocks = THCCeilDiv(x.size(0), 256L);
  auto out = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.type(), "scale", ([&] {
    const scalar_t* src = x.data<scalar_t>();
    scalar_t* dst = out.data<scalar_t>();
    for (int64_t i = 0; i < x.numel(); ++i) dst[i] = src[i] * blocks;
  }));
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("scale", &scale); }
