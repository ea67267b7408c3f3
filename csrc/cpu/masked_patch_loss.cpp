// CPU kernels of repro::masked_patch_loss and its backward. Work goes by rows of patches
// (n, hi): the p image rows they cover are read once, each patch is transposed into a small
// (p, q, c)-ordered buffer in cache, normalised, and compared with pred. The patchified
// target is never materialised; patches with mask 0 are skipped (their weight is 0).
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

#include "../checks.h"

namespace repro {
namespace {

constexpr int kLanes = 8;  // independent partial sums, so the compiler can vectorise

template <typename acc_t>
acc_t sum(const acc_t* v, int64_t n) {
  acc_t part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) part[j] += v[i + j];
  acc_t s = 0;
  for (; i < n; ++i) s += v[i];
  for (int j = 0; j < kLanes; ++j) s += part[j];
  return s;
}

// Copy patch (n, hi, wi) of imgs into t in (p, q, c) order; on return t holds the target
// patch, normalised when mean/rstd say so. Returns nothing: mean and rstd are outputs.
template <typename scalar_t, typename acc_t>
void load_patch(const scalar_t* img_n, const LossShape& s, int64_t hi, int64_t wi, bool norm,
                acc_t eps, acc_t* t, acc_t& mean, acc_t& rstd) {
  const int64_t p = s.p, C = s.C, HW = s.H * s.W;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < p; ++i) {
      const scalar_t* src = img_n + c * HW + (hi * p + i) * s.W + wi * p;
      acc_t* dst = t + i * p * C + c;
      for (int64_t j = 0; j < p; ++j) dst[j * C] = static_cast<acc_t>(src[j]);
    }
  mean = 0;
  rstd = 1;
  if (!norm) return;
  mean = sum(t, s.P) / static_cast<acc_t>(s.P);
  acc_t part[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= s.P; k += kLanes)
    for (int j = 0; j < kLanes; ++j) part[j] += (t[k + j] - mean) * (t[k + j] - mean);
  acc_t ss = 0;
  for (; k < s.P; ++k) ss += (t[k] - mean) * (t[k] - mean);
  for (int j = 0; j < kLanes; ++j) ss += part[j];
  const acc_t var = ss / static_cast<acc_t>(s.P - 1);  // unbiased, as torch.var
  rstd = acc_t(1) / std::sqrt(var + eps);
}

template <typename scalar_t>
double loss_cpu_impl(const scalar_t* imgs, const scalar_t* pred, const scalar_t* mask,
                     const LossShape& s, bool norm, double eps, double* mask_sum) {
  using acc_t = typename Acc<scalar_t>::type;
  const int64_t rows = s.N * s.Hp;
  std::vector<double> partial(rows, 0.0);
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> t(s.P);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / s.Hp, hi = r % s.Hp;
      const scalar_t* img_n = imgs + n * s.C * s.H * s.W;
      double row_sum = 0;
      for (int64_t wi = 0; wi < s.Wp; ++wi) {
        const int64_t l = hi * s.Wp + wi;
        const acc_t m = static_cast<acc_t>(mask[n * s.L + l]);
        if (m == acc_t(0)) continue;
        acc_t mean, rstd;
        load_patch(img_n, s, hi, wi, norm, static_cast<acc_t>(eps), t.data(), mean, rstd);
        const scalar_t* pr = pred + (n * s.L + l) * s.P;
        acc_t part[kLanes] = {};
        int64_t k = 0;
        for (; k + kLanes <= s.P; k += kLanes)
          for (int j = 0; j < kLanes; ++j) {
            const acc_t d = static_cast<acc_t>(pr[k + j]) - (t[k + j] - mean) * rstd;
            part[j] += d * d;
          }
        acc_t se = 0;
        for (; k < s.P; ++k) {
          const acc_t d = static_cast<acc_t>(pr[k]) - (t[k] - mean) * rstd;
          se += d * d;
        }
        for (int j = 0; j < kLanes; ++j) se += part[j];
        row_sum += static_cast<double>(m) * static_cast<double>(se) / static_cast<double>(s.P);
      }
      partial[r] = row_sum;
    }
  });
  double total = 0, msum = 0;
  for (double v : partial) total += v;
  for (int64_t i = 0; i < s.N * s.L; ++i) msum += static_cast<double>(mask[i]);
  *mask_sum = msum;
  return total;
}

at::Tensor masked_patch_loss_cpu(const at::Tensor& imgs_in, const at::Tensor& pred_in,
                                 const at::Tensor& mask_in, int64_t patch_size,
                                 bool norm_pix_loss, double eps) {
  const LossShape s = check_loss(imgs_in, pred_in, mask_in, patch_size, eps);
  const auto imgs = imgs_in.contiguous();
  const auto pred = pred_in.contiguous();
  const auto mask = mask_in.contiguous();
  double total = 0, msum = 0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, pred.scalar_type(),
                                  "masked_patch_loss_cpu", [&] {
    total = loss_cpu_impl<scalar_t>(imgs.data_ptr<scalar_t>(), pred.data_ptr<scalar_t>(),
                                    mask.data_ptr<scalar_t>(), s, norm_pix_loss, eps, &msum);
  });
  return at::scalar_tensor(total / msum, pred.options());
}

at::Tensor masked_patch_loss_backward_cpu(const at::Tensor& grad, const at::Tensor& imgs_in,
                                          const at::Tensor& pred_in, const at::Tensor& mask_in,
                                          int64_t patch_size, bool norm_pix_loss, double eps) {
  const LossShape s = check_loss(imgs_in, pred_in, mask_in, patch_size, eps);
  check_loss_grad(grad, pred_in);
  const auto imgs = imgs_in.contiguous();
  const auto pred = pred_in.contiguous();
  const auto mask = mask_in.contiguous();
  auto out = at::empty({s.N, s.L, s.P}, pred.options());
  const double g = grad.to(at::kDouble).item<double>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, pred.scalar_type(),
                                  "masked_patch_loss_backward_cpu", [&] {
    using acc_t = typename Acc<scalar_t>::type;
    const scalar_t* im = imgs.data_ptr<scalar_t>();
    const scalar_t* pr = pred.data_ptr<scalar_t>();
    const scalar_t* mk = mask.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    double msum = 0;
    for (int64_t i = 0; i < s.N * s.L; ++i) msum += static_cast<double>(mk[i]);
    // d loss / d pred = g * mask / sum(mask) * 2 / P * (pred - target)
    const double coef = g / msum * 2.0 / static_cast<double>(s.P);
    at::parallel_for(0, s.N * s.Hp, 1, [&](int64_t begin, int64_t end) {
      std::vector<acc_t> t(s.P);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / s.Hp, hi = r % s.Hp;
        for (int64_t wi = 0; wi < s.Wp; ++wi) {
          const int64_t l = hi * s.Wp + wi;
          scalar_t* go = o + (n * s.L + l) * s.P;
          const double m = static_cast<double>(mk[n * s.L + l]);
          if (m == 0.0) {
            std::fill(go, go + s.P, scalar_t(0));
            continue;
          }
          acc_t mean, rstd;
          load_patch(im + n * s.C * s.H * s.W, s, hi, wi, norm_pix_loss,
                     static_cast<acc_t>(eps), t.data(), mean, rstd);
          const scalar_t* pp = pr + (n * s.L + l) * s.P;
          const acc_t scale = static_cast<acc_t>(coef * m);
          for (int64_t k = 0; k < s.P; ++k)
            go[k] = static_cast<scalar_t>(
                scale * (static_cast<acc_t>(pp[k]) - (t[k] - mean) * rstd));
        }
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(repro, CPU, m) {
  m.impl("masked_patch_loss", &masked_patch_loss_cpu);
  m.impl("masked_patch_loss_backward", &masked_patch_loss_backward_cpu);
}

}  // namespace repro
