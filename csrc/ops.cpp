// Schemas of the repro ops, defined once. Kernels bind per backend in cpu/*.cpp
// (TORCH_LIBRARY_IMPL(repro, CPU, m)) and cuda/*.cu (TORCH_LIBRARY_IMPL(repro, CUDA, m)).
#include <torch/library.h>

TORCH_LIBRARY(repro, m) {
  // out[n, k] = x[n, ids_keep[n, k]]: the MAE random_masking gather of kept patches.
  m.def("gather_patches(Tensor x, Tensor ids_keep) -> Tensor");
  // Its backward: grad (N, K, D) summed into zeros of shape (N, num_patches, D).
  m.def("gather_patches_backward(Tensor grad, Tensor ids_keep, int num_patches) -> Tensor");
  // The MAE forward_loss (patchify, optional per-patch normalisation, masked mean MSE).
  m.def("masked_patch_loss(Tensor imgs, Tensor pred, Tensor mask, int patch_size, "
        "bool norm_pix_loss=True, float eps=1e-06) -> Tensor");
  // Its gradient with respect to pred.
  m.def("masked_patch_loss_backward(Tensor grad, Tensor imgs, Tensor pred, Tensor mask, "
        "int patch_size, bool norm_pix_loss, float eps) -> Tensor");
}
