// A 2019-style CUDA op on THC's BLAS wrappers (test input written for repro).
#include <ATen/ATen.h>
#include <THC/THC.h>

extern THCState *state;

void thblas_cuda(at::Tensor a, at::Tensor b, at::Tensor c, at::Tensor x, at::Tensor y,
                 const float **a_b, const float **b_b, float **c_b, int batch) {
  long m = c.size(1), n = c.size(0), k = a.size(0);
  THCudaBlas_Sgemm(state, 'n', 't', m, n, k, 1.0f,
                   a.data<float>(), m,
                   b.data<float>(), n, 0.0f,
                   c.data<float>(), m);
  THCudaBlas_Sgemv(state,
                   't',
                   m, n, 1.0f,
                   c.data<float>(), m,
                   x.data<float>(), 1, 0.0f,
                   y.data<float>(), 1);
  THCudaBlas_SgemmBatched(state, 'n', 'n', m, n, k, 1.0f, a_b, m, b_b, k, 0.0f, c_b, m, batch);
}
