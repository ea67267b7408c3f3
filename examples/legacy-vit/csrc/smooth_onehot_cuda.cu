#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <THC/THC.h>
#include <THC/THCDeviceUtils.cuh>

template <typename scalar_t>
__global__ void smooth_onehot_kernel(const int64_t* labels, scalar_t* out, int64_t n,
                                     int64_t num_classes, scalar_t on, scalar_t off) {
  const int64_t idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= n * num_classes) return;
  const int64_t i = idx / num_classes;
  const int64_t c = idx % num_classes;
  out[idx] = (c == labels[i]) ? on : off;
}

at::Tensor smooth_onehot_cuda(const at::Tensor& labels, int64_t num_classes, double eps,
                              at::Tensor out) {
  const int64_t n = labels.size(0);
  const int threads = 256;
  const int blocks = THCCeilDiv(n * num_classes, (int64_t)threads);
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  auto labels_c = labels.contiguous();
  AT_DISPATCH_FLOATING_TYPES(out.type(), "smooth_onehot_cuda", [&] {
    const scalar_t off = static_cast<scalar_t>(eps / num_classes);
    const scalar_t on = static_cast<scalar_t>(1.0 - eps) + off;
    smooth_onehot_kernel<scalar_t><<<blocks, threads, 0, stream>>>(
        labels_c.data<int64_t>(), out.data<scalar_t>(), n, num_classes, on, off);
  });
  THCudaCheck(cudaGetLastError());
  return out;
}
