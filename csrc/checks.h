// Input checks shared by the CPU and CUDA kernels: every failure is a one-line RuntimeError
// (TORCH_CHECK) naming the op and argument, raised before anything is launched.
#pragma once

#include <ATen/ATen.h>

namespace repro {

inline bool is_supported_float(at::ScalarType t) {
  return t == at::kHalf || t == at::kBFloat16 || t == at::kFloat || t == at::kDouble;
}

inline void check_float(const char* op, const char* name, const at::Tensor& t) {
  TORCH_CHECK(is_supported_float(t.scalar_type()), op, ": ", name,
              " must be float16, bfloat16, float32 or float64, got ", t.scalar_type());
}

inline void check_same_device(const char* op, const char* a, const at::Tensor& ta,
                              const char* b, const at::Tensor& tb) {
  TORCH_CHECK(ta.device() == tb.device(), op, ": ", a, " is on ", ta.device(), " but ", b,
              " is on ", tb.device());
}

// ids must hold values in [0, L). One host sync on CUDA (the price of never reading out of
// bounds on the device).
inline void check_ids(const char* op, const at::Tensor& ids, int64_t N, int64_t L) {
  TORCH_CHECK(ids.scalar_type() == at::kLong, op, ": ids_keep must be int64, got ",
              ids.scalar_type());
  TORCH_CHECK(ids.dim() == 2 && ids.size(0) == N, op, ": ids_keep must be (N, K) with N=", N,
              ", got shape ", ids.sizes());
  if (ids.numel() == 0) return;
  auto mm = at::stack({ids.min(), ids.max()}).to(at::kCPU);
  const int64_t lo = mm[0].item<int64_t>(), hi = mm[1].item<int64_t>();
  TORCH_CHECK(lo >= 0 && hi < L, op, ": ids_keep values must be in [0, L=", L,
              "), found min ", lo, " and max ", hi);
}

inline void check_gather(const at::Tensor& x, const at::Tensor& ids) {
  const char* op = "repro::gather_patches";
  TORCH_CHECK(x.dim() == 3, op, ": x must be (N, L, D), got shape ", x.sizes());
  check_float(op, "x", x);
  check_same_device(op, "x", x, "ids_keep", ids);
  check_ids(op, ids, x.size(0), x.size(1));
}

inline void check_gather_backward(const at::Tensor& grad, const at::Tensor& ids,
                                  int64_t num_patches) {
  const char* op = "repro::gather_patches_backward";
  TORCH_CHECK(grad.dim() == 3, op, ": grad must be (N, K, D), got shape ", grad.sizes());
  check_float(op, "grad", grad);
  check_same_device(op, "grad", grad, "ids_keep", ids);
  TORCH_CHECK(num_patches >= 0, op, ": num_patches must be >= 0, got ", num_patches);
  check_ids(op, ids, grad.size(0), num_patches);
  TORCH_CHECK(ids.size(1) == grad.size(1), op, ": ids_keep has K=", ids.size(1),
              " but grad has K=", grad.size(1));
}

// Geometry of the fused loss: imgs (N, C, H, W) cut into (H/p) x (W/p) patches of P = p*p*C.
struct LossShape {
  int64_t N, C, H, W, p, Hp, Wp, L, P;
};

inline LossShape check_loss(const at::Tensor& imgs, const at::Tensor& pred,
                            const at::Tensor& mask, int64_t p, double eps) {
  const char* op = "repro::masked_patch_loss";
  TORCH_CHECK(imgs.dim() == 4, op, ": imgs must be (N, C, H, W), got shape ", imgs.sizes());
  TORCH_CHECK(p > 0, op, ": patch_size must be positive, got ", p);
  LossShape s;
  s.N = imgs.size(0); s.C = imgs.size(1); s.H = imgs.size(2); s.W = imgs.size(3); s.p = p;
  TORCH_CHECK(s.H % p == 0 && s.W % p == 0, op, ": patch_size ", p, " must divide H=", s.H,
              " and W=", s.W);
  s.Hp = s.H / p; s.Wp = s.W / p; s.L = s.Hp * s.Wp; s.P = p * p * s.C;
  TORCH_CHECK(pred.dim() == 3 && pred.size(0) == s.N && pred.size(1) == s.L &&
                  pred.size(2) == s.P,
              op, ": pred must be (N, L, p*p*C) = (", s.N, ", ", s.L, ", ", s.P,
              "), got shape ", pred.sizes());
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == s.N && mask.size(1) == s.L, op,
              ": mask must be (N, L) = (", s.N, ", ", s.L, "), got shape ", mask.sizes());
  check_float(op, "pred", pred);
  TORCH_CHECK(imgs.scalar_type() == pred.scalar_type() &&
                  mask.scalar_type() == pred.scalar_type(),
              op, ": imgs, pred and mask must share one dtype, got ", imgs.scalar_type(), ", ",
              pred.scalar_type(), ", ", mask.scalar_type());
  check_same_device(op, "imgs", imgs, "pred", pred);
  check_same_device(op, "mask", mask, "pred", pred);
  TORCH_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  return s;
}

inline void check_loss_grad(const at::Tensor& grad, const at::Tensor& pred) {
  TORCH_CHECK(grad.numel() == 1, "repro::masked_patch_loss_backward: grad must have one "
              "element, got shape ", grad.sizes());
  check_same_device("repro::masked_patch_loss_backward", "grad", grad, "pred", pred);
}

// Accumulation type: float for the 16-bit types and float32, double for float64.
template <typename T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };

}  // namespace repro
