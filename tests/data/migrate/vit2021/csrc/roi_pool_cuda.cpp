// The CUDA-side helpers of the THC-era extension (host code: compiled as C++ here).
#include <torch/extension.h>
#include <THC/THC.h>
#include <cuda_runtime.h>

extern THCState *state;

float* scratch(int64_t n) {
  float* buf = (float*)THCudaMalloc(state, n * sizeof(float));
  cudaStream_t stream = THCState_getCurrentStream(state);
  THCudaCheck(cudaMemsetAsync(buf, 0, n * sizeof(float), stream));
  return buf;
}

void release(float* buf) { THCudaFree(state, buf); }
