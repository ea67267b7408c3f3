// A THC-era (torch 1.0-1.10) extension source: THC state and macros, deprecated ATen calls.
// Comments that mention THCudaCheck( or AT_CHECK( are left alone.
#include <torch/extension.h>
#include <THC/THC.h>
#include <TH/TH.h>

extern THCState *state;

at::Tensor roi_pool_forward(const at::Tensor& input, int64_t pooled) {
  AT_CHECK(input.type().is_cuda(), "input must be a CUDA tensor");
  AT_CHECK(input.dim() == 4, "input must be NCHW; see AT_CHECK( in the docs");
  THArgCheck(pooled > 0, 2, "pooled must be positive, got %d", (int)pooled);
  auto output = at::zeros({input.size(0), input.size(1), pooled, pooled}, input.options());
  const int64_t blocks = THCCeilDiv(output.numel(), (int64_t)512);
  AT_DISPATCH_FLOATING_TYPES(input.type(), "roi_pool_forward", [&] {
    const scalar_t* in = input.data<scalar_t>();
    scalar_t* out = output.data<scalar_t>();
    (void)in; (void)out; (void)blocks;
  });
  THCudaCheck(cudaGetLastError());
  return output;
}
