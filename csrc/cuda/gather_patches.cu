// CUDA kernels of repro::gather_patches (row copy with 16-byte vector loads where aligned)
// and its backward (deterministic scatter: each output row is written once, no float atomics).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <climits>

#include "../checks.h"
#include "common.cuh"

namespace repro {
namespace {

template <typename V>
__global__ void gather_rows_kernel(const V* __restrict__ src, const int64_t* __restrict__ ids,
                                   V* __restrict__ dst, int64_t K, int64_t L, int64_t row_vecs,
                                   int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / row_vecs, v = i - r * row_vecs;
    const int64_t n = r / K;
    dst[i] = src[(n * L + ids[r]) * row_vecs + v];
  }
}

template <typename V>
void launch_gather(const at::Tensor& x, const at::Tensor& ids, at::Tensor& out) {
  const int64_t K = ids.size(1), L = x.size(1);
  const int64_t row_vecs = x.size(2) * x.element_size() / sizeof(V);
  const int64_t total = out.numel() * out.element_size() / sizeof(V);
  auto stream = c10::cuda::getCurrentCUDAStream();
  gather_rows_kernel<V><<<blocks_for(total), kThreads, 0, stream>>>(
      static_cast<const V*>(x.data_ptr()), ids.data_ptr<int64_t>(),
      static_cast<V*>(out.data_ptr()), K, L, row_vecs, total);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

bool aligned(const at::Tensor& t, size_t bytes) {
  return reinterpret_cast<uintptr_t>(t.data_ptr()) % bytes == 0;
}

at::Tensor gather_patches_cuda(const at::Tensor& x_in, const at::Tensor& ids_in) {
  check_gather(x_in, ids_in);
  const at::cuda::OptionalCUDAGuard guard(x_in.device());
  const auto x = x_in.contiguous();
  const auto ids = ids_in.contiguous();
  auto out = at::empty({x.size(0), ids.size(1), x.size(2)}, x.options());
  if (out.numel() == 0) return out;
  const size_t row = x.size(2) * x.element_size();
  if (row % 16 == 0 && aligned(x, 16) && aligned(out, 16)) {
    launch_gather<uint4>(x, ids, out);
  } else if (row % 8 == 0 && aligned(x, 8) && aligned(out, 8)) {
    launch_gather<uint2>(x, ids, out);
  } else if (row % 4 == 0 && aligned(x, 4) && aligned(out, 4)) {
    launch_gather<uint32_t>(x, ids, out);
  } else {
    launch_gather<uint16_t>(x, ids, out);
  }
  return out;
}

// For each (n, l): how many k have ids[n, k] == l, and the first such k.
__global__ void index_rows_kernel(const int64_t* __restrict__ ids, int* __restrict__ count,
                                  int* __restrict__ first, int64_t K, int64_t L, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / K, k = i - n * K;
    const int64_t row = n * L + ids[i];
    atomicAdd(count + row, 1);
    atomicMin(first + row, static_cast<int>(k));
  }
}

template <typename scalar_t>
__global__ void scatter_rows_kernel(const scalar_t* __restrict__ g,
                                    const int64_t* __restrict__ ids,
                                    const int* __restrict__ count,
                                    const int* __restrict__ first, scalar_t* __restrict__ out,
                                    int64_t K, int64_t L, int64_t D, int64_t total) {
  using acc_t = typename Acc<scalar_t>::type;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = i / D, d = i - row * D;
    const int64_t n = row / L, l = row - n * L;
    const int c = count[row];
    if (c == 0) {
      out[i] = scalar_t(0);
    } else if (c == 1) {
      out[i] = g[(n * K + first[row]) * D + d];
    } else {  // repeated index: sum in k order, deterministic
      acc_t acc = 0;
      for (int64_t k = first[row]; k < K; ++k)
        if (ids[n * K + k] == l) acc += static_cast<acc_t>(g[(n * K + k) * D + d]);
      out[i] = static_cast<scalar_t>(acc);
    }
  }
}

at::Tensor gather_patches_backward_cuda(const at::Tensor& grad_in, const at::Tensor& ids_in,
                                        int64_t num_patches) {
  check_gather_backward(grad_in, ids_in, num_patches);
  TORCH_CHECK(grad_in.size(1) < INT_MAX, "repro::gather_patches_backward: K too large");
  const at::cuda::OptionalCUDAGuard guard(grad_in.device());
  const auto grad = grad_in.contiguous();
  const auto ids = ids_in.contiguous();
  const int64_t N = grad.size(0), K = grad.size(1), D = grad.size(2), L = num_patches;
  auto out = at::empty({N, L, D}, grad.options());
  if (out.numel() == 0) return out;
  auto count = at::zeros({N * L}, grad.options().dtype(at::kInt));
  auto first = at::full({N * L}, INT_MAX, grad.options().dtype(at::kInt));
  auto stream = c10::cuda::getCurrentCUDAStream();
  if (ids.numel() > 0) {
    index_rows_kernel<<<blocks_for(N * K), kThreads, 0, stream>>>(
        ids.data_ptr<int64_t>(), count.data_ptr<int>(), first.data_ptr<int>(), K, L, N * K);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "gather_patches_backward_cuda", [&] {
    scatter_rows_kernel<scalar_t><<<blocks_for(out.numel()), kThreads, 0, stream>>>(
        grad.data_ptr<scalar_t>(), ids.data_ptr<int64_t>(), count.data_ptr<int>(),
        first.data_ptr<int>(), out.data_ptr<scalar_t>(), K, L, D, out.numel());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(repro, CUDA, m) {
  m.impl("gather_patches", &gather_patches_cuda);
  m.impl("gather_patches_backward", &gather_patches_backward_cuda);
}

}  // namespace repro
