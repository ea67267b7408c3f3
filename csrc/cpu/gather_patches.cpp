// CPU kernels of repro::gather_patches and its backward: one row copy per kept patch.
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cstring>
#include <vector>

#include "../checks.h"

namespace repro {
namespace {

at::Tensor gather_patches_cpu(const at::Tensor& x_in, const at::Tensor& ids_in) {
  check_gather(x_in, ids_in);
  const auto x = x_in.contiguous();
  const auto ids = ids_in.contiguous();
  const int64_t N = x.size(0), L = x.size(1), D = x.size(2), K = ids.size(1);
  auto out = at::empty({N, K, D}, x.options());
  if (out.numel() == 0) return out;
  const size_t row = D * x.element_size();
  const char* src = static_cast<const char*>(x.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  const int64_t* idx = ids.data_ptr<int64_t>();
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / static_cast<int64_t>(row));
  at::parallel_for(0, N * K, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / K;
      std::memcpy(dst + r * row, src + (n * L + idx[r]) * row, row);
    }
  });
  return out;
}

// grad_x[n, l] = sum of grad[n, k] over the k with ids[n, k] == l (zeros where none). Each
// output row is written once: the first hit copies, repeats add, untouched rows are zeroed.
template <typename scalar_t>
void scatter_rows(const scalar_t* g, const int64_t* idx, scalar_t* out, int64_t N, int64_t K,
                  int64_t L, int64_t D) {
  using acc_t = typename Acc<scalar_t>::type;
  at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> first(L);
    std::vector<acc_t> acc(D);
    for (int64_t n = begin; n < end; ++n) {
      std::fill(first.begin(), first.end(), -1);
      std::vector<bool> dup(L, false);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t l = idx[n * K + k];
        if (first[l] < 0) first[l] = k; else dup[l] = true;
      }
      for (int64_t l = 0; l < L; ++l) {
        scalar_t* o = out + (n * L + l) * D;
        if (first[l] < 0) {
          std::memset(o, 0, D * sizeof(scalar_t));
        } else if (!dup[l]) {
          std::memcpy(o, g + (n * K + first[l]) * D, D * sizeof(scalar_t));
        } else {  // repeated index: sum in k order, like torch.gather's backward
          std::fill(acc.begin(), acc.end(), acc_t(0));
          for (int64_t k = first[l]; k < K; ++k) {
            if (idx[n * K + k] != l) continue;
            const scalar_t* gk = g + (n * K + k) * D;
            for (int64_t d = 0; d < D; ++d) acc[d] += static_cast<acc_t>(gk[d]);
          }
          for (int64_t d = 0; d < D; ++d) o[d] = static_cast<scalar_t>(acc[d]);
        }
      }
    }
  });
}

at::Tensor gather_patches_backward_cpu(const at::Tensor& grad_in, const at::Tensor& ids_in,
                                       int64_t num_patches) {
  check_gather_backward(grad_in, ids_in, num_patches);
  const auto grad = grad_in.contiguous();
  const auto ids = ids_in.contiguous();
  const int64_t N = grad.size(0), K = grad.size(1), D = grad.size(2);
  auto out = at::empty({N, num_patches, D}, grad.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(),
                                  "gather_patches_backward_cpu", [&] {
    scatter_rows<scalar_t>(grad.data_ptr<scalar_t>(), ids.data_ptr<int64_t>(),
                           out.data_ptr<scalar_t>(), N, K, num_patches, D);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(repro, CPU, m) {
  m.impl("gather_patches", &gather_patches_cpu);
  m.impl("gather_patches_backward", &gather_patches_backward_cpu);
}

}  // namespace repro
