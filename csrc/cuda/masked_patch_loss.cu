// CUDA kernels of repro::masked_patch_loss and its backward: one block per patch. The block
// stages its target patch (read straight from imgs, (p, q, c) order) in shared memory when it
// fits, reduces mean and unbiased variance, then compares with pred. Per-patch losses go to
// a small (N*L) buffer summed by ATen (deterministic); nothing of size N*L*P is materialised
// besides the gradient itself. Patches with mask 0 are skipped.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "../checks.h"
#include "common.cuh"

namespace repro {
namespace {

constexpr int64_t kSmemBytes = 40 * 1024;

struct Geo {
  int64_t C, H, W, p, Wp, L, P;
};

template <typename scalar_t, typename acc_t>
__device__ __forceinline__ acc_t target_at(const scalar_t* img_n, const Geo& s, int64_t hi,
                                           int64_t wi, int64_t j) {
  const int64_t c = j % s.C, q = (j / s.C) % s.p, i = j / (s.C * s.p);
  return static_cast<acc_t>(img_n[(c * s.H + hi * s.p + i) * s.W + wi * s.p + q]);
}

// Mean and 1/std of patch (n, l); stages the raw target in `tile` when kSmem.
template <typename scalar_t, typename acc_t, bool kSmem>
__device__ void patch_stats(const scalar_t* img_n, const Geo& s, int64_t hi, int64_t wi,
                            bool norm, acc_t eps, acc_t* tile, acc_t* scratch, acc_t& mean,
                            acc_t& rstd) {
  mean = 0;
  rstd = 1;
  acc_t part = 0;
  for (int64_t j = threadIdx.x; j < s.P; j += blockDim.x) {
    const acc_t t = target_at<scalar_t, acc_t>(img_n, s, hi, wi, j);
    if (kSmem) tile[j] = t;
    part += t;
  }
  if (!norm) {
    __syncthreads();
    return;
  }
  mean = block_sum(part, scratch) / static_cast<acc_t>(s.P);
  part = 0;
  for (int64_t j = threadIdx.x; j < s.P; j += blockDim.x) {
    const acc_t t = kSmem ? tile[j] : target_at<scalar_t, acc_t>(img_n, s, hi, wi, j);
    part += (t - mean) * (t - mean);
  }
  const acc_t var = block_sum(part, scratch) / static_cast<acc_t>(s.P - 1);
  rstd = acc_t(1) / sqrt(var + eps);
}

template <typename scalar_t, typename acc_t, bool kSmem>
__global__ void loss_kernel(const scalar_t* __restrict__ imgs, const scalar_t* __restrict__ pred,
                            const scalar_t* __restrict__ mask, acc_t* __restrict__ partial,
                            Geo s, bool norm, acc_t eps) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  acc_t* tile = reinterpret_cast<acc_t*>(smem_raw);
  __shared__ acc_t scratch[32];
  const int64_t patch = blockIdx.x, n = patch / s.L, l = patch - n * s.L;
  const acc_t m = static_cast<acc_t>(mask[patch]);
  if (m == acc_t(0)) {
    if (threadIdx.x == 0) partial[patch] = 0;
    return;
  }
  const int64_t hi = l / s.Wp, wi = l - hi * s.Wp;
  const scalar_t* img_n = imgs + n * s.C * s.H * s.W;
  acc_t mean, rstd;
  patch_stats<scalar_t, acc_t, kSmem>(img_n, s, hi, wi, norm, eps, tile, scratch, mean, rstd);
  const scalar_t* pr = pred + patch * s.P;
  acc_t se = 0;
  for (int64_t j = threadIdx.x; j < s.P; j += blockDim.x) {
    const acc_t t = kSmem ? tile[j] : target_at<scalar_t, acc_t>(img_n, s, hi, wi, j);
    const acc_t d = static_cast<acc_t>(pr[j]) - (t - mean) * rstd;
    se += d * d;
  }
  se = block_sum(se, scratch);
  if (threadIdx.x == 0) partial[patch] = m * se / static_cast<acc_t>(s.P);
}

template <typename scalar_t, typename acc_t, bool kSmem>
__global__ void loss_backward_kernel(const acc_t* __restrict__ coef,
                                     const scalar_t* __restrict__ imgs,
                                     const scalar_t* __restrict__ pred,
                                     const scalar_t* __restrict__ mask,
                                     scalar_t* __restrict__ out, Geo s, bool norm, acc_t eps) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  acc_t* tile = reinterpret_cast<acc_t*>(smem_raw);
  __shared__ acc_t scratch[32];
  const int64_t patch = blockIdx.x, n = patch / s.L, l = patch - n * s.L;
  scalar_t* go = out + patch * s.P;
  const acc_t m = static_cast<acc_t>(mask[patch]);
  if (m == acc_t(0)) {
    for (int64_t j = threadIdx.x; j < s.P; j += blockDim.x) go[j] = scalar_t(0);
    return;
  }
  const int64_t hi = l / s.Wp, wi = l - hi * s.Wp;
  const scalar_t* img_n = imgs + n * s.C * s.H * s.W;
  acc_t mean, rstd;
  patch_stats<scalar_t, acc_t, kSmem>(img_n, s, hi, wi, norm, eps, tile, scratch, mean, rstd);
  const acc_t scale = coef[0] * m;  // g / sum(mask) * 2 / P, computed on the device
  const scalar_t* pr = pred + patch * s.P;
  for (int64_t j = threadIdx.x; j < s.P; j += blockDim.x) {
    const acc_t t = kSmem ? tile[j] : target_at<scalar_t, acc_t>(img_n, s, hi, wi, j);
    go[j] = static_cast<scalar_t>(scale * (static_cast<acc_t>(pr[j]) - (t - mean) * rstd));
  }
}

Geo geo(const LossShape& s) { return Geo{s.C, s.H, s.W, s.p, s.Wp, s.L, s.P}; }

int threads_for(int64_t P) {
  int t = 32;
  while (t < kThreads && t < P) t *= 2;
  return t;
}

at::ScalarType acc_dtype(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

at::Tensor masked_patch_loss_cuda(const at::Tensor& imgs_in, const at::Tensor& pred_in,
                                  const at::Tensor& mask_in, int64_t patch_size,
                                  bool norm_pix_loss, double eps) {
  const LossShape s = check_loss(imgs_in, pred_in, mask_in, patch_size, eps);
  const at::cuda::OptionalCUDAGuard guard(pred_in.device());
  const auto imgs = imgs_in.contiguous();
  const auto pred = pred_in.contiguous();
  const auto mask = mask_in.contiguous();
  const auto acc = acc_dtype(pred.scalar_type());
  auto partial = at::empty({s.N * s.L}, pred.options().dtype(acc));
  if (s.N * s.L > 0) {
    auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, pred.scalar_type(),
                                    "masked_patch_loss_cuda", [&] {
      using acc_t = typename Acc<scalar_t>::type;
      const int64_t smem = s.P * (int64_t)sizeof(acc_t);
      const dim3 grid(s.N * s.L), block(threads_for(s.P));
      if (smem <= kSmemBytes) {
        loss_kernel<scalar_t, acc_t, true><<<grid, block, smem, stream>>>(
            imgs.data_ptr<scalar_t>(), pred.data_ptr<scalar_t>(), mask.data_ptr<scalar_t>(),
            partial.data_ptr<acc_t>(), geo(s), norm_pix_loss, static_cast<acc_t>(eps));
      } else {
        loss_kernel<scalar_t, acc_t, false><<<grid, block, 0, stream>>>(
            imgs.data_ptr<scalar_t>(), pred.data_ptr<scalar_t>(), mask.data_ptr<scalar_t>(),
            partial.data_ptr<acc_t>(), geo(s), norm_pix_loss, static_cast<acc_t>(eps));
      }
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return (partial.sum() / mask.to(acc).sum()).to(pred.scalar_type());
}

at::Tensor masked_patch_loss_backward_cuda(const at::Tensor& grad, const at::Tensor& imgs_in,
                                           const at::Tensor& pred_in, const at::Tensor& mask_in,
                                           int64_t patch_size, bool norm_pix_loss, double eps) {
  const LossShape s = check_loss(imgs_in, pred_in, mask_in, patch_size, eps);
  check_loss_grad(grad, pred_in);
  const at::cuda::OptionalCUDAGuard guard(pred_in.device());
  const auto imgs = imgs_in.contiguous();
  const auto pred = pred_in.contiguous();
  const auto mask = mask_in.contiguous();
  auto out = at::empty({s.N, s.L, s.P}, pred.options());
  if (out.numel() == 0) return out;
  const auto acc = acc_dtype(pred.scalar_type());
  // d loss / d pred = g * mask / sum(mask) * 2 / P * (pred - target); no host sync.
  const auto coef = (grad.reshape({}).to(acc) / mask.to(acc).sum() * (2.0 / s.P)).reshape({1});
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, pred.scalar_type(),
                                  "masked_patch_loss_backward_cuda", [&] {
    using acc_t = typename Acc<scalar_t>::type;
    const int64_t smem = s.P * (int64_t)sizeof(acc_t);
    const dim3 grid(s.N * s.L), block(threads_for(s.P));
    if (smem <= kSmemBytes) {
      loss_backward_kernel<scalar_t, acc_t, true><<<grid, block, smem, stream>>>(
          coef.data_ptr<acc_t>(), imgs.data_ptr<scalar_t>(), pred.data_ptr<scalar_t>(),
          mask.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), geo(s), norm_pix_loss,
          static_cast<acc_t>(eps));
    } else {
      loss_backward_kernel<scalar_t, acc_t, false><<<grid, block, 0, stream>>>(
          coef.data_ptr<acc_t>(), imgs.data_ptr<scalar_t>(), pred.data_ptr<scalar_t>(),
          mask.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), geo(s), norm_pix_loss,
          static_cast<acc_t>(eps));
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(repro, CUDA, m) {
  m.impl("masked_patch_loss", &masked_patch_loss_cuda);
  m.impl("masked_patch_loss_backward", &masked_patch_loss_backward_cuda);
}

}  // namespace repro
