// Label-smoothed one-hot targets: out[i][c] = eps / C, out[i][label_i] += 1 - eps.
#include <torch/extension.h>
#include <TH/TH.h>

#ifdef WITH_CUDA
at::Tensor smooth_onehot_cuda(const at::Tensor& labels, int64_t num_classes, double eps,
                              at::Tensor out);
#endif

template <typename scalar_t>
static void smooth_onehot_cpu_kernel(const int64_t* labels, scalar_t* out, int64_t n,
                                     int64_t num_classes, double eps) {
  const scalar_t off = static_cast<scalar_t>(eps / num_classes);
  const scalar_t on = static_cast<scalar_t>(1.0 - eps) + off;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = labels[i];
    THArgCheck(y >= 0 && y < num_classes, 1, "label out of range");
    for (int64_t c = 0; c < num_classes; ++c) {
      out[i * num_classes + c] = (c == y) ? on : off;
    }
  }
}

// `like` gives the dtype (and device) of the targets: the logits they are compared with.
at::Tensor smooth_onehot(const at::Tensor& labels, int64_t num_classes, double eps,
                         const at::Tensor& like) {
  AT_ASSERTM(labels.dim() == 1, "labels must be a 1-d tensor");
  AT_ASSERTM(labels.type().scalarType() == at::kLong, "labels must be int64");
  auto out = at::empty({labels.size(0), num_classes}, like.options());
  if (labels.type().is_cuda()) {
#ifdef WITH_CUDA
    return smooth_onehot_cuda(labels, num_classes, eps, out);
#else
    AT_ERROR("smooth_onehot: not compiled with CUDA");
#endif
  }
  auto labels_c = labels.contiguous();
  AT_DISPATCH_FLOATING_TYPES(out.type(), "smooth_onehot_cpu", [&] {
    smooth_onehot_cpu_kernel<scalar_t>(labels_c.data<int64_t>(), out.data<scalar_t>(),
                                       labels_c.size(0), num_classes, eps);
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("smooth_onehot", &smooth_onehot, "label-smoothed one-hot targets");
}
