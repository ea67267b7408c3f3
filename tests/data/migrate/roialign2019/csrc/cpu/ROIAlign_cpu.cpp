// CPU ROIAlign (nearest sample per bin, enough for a compile test), torch 1.0 idioms.
#include <torch/torch.h>
#include "../roi_align.h"

template <typename T>
static void roi_align_kernel(const T* in, const T* rois, T* out, int64_t n_rois, int64_t c,
                             int64_t h, int64_t w, float scale, int ph, int pw) {
  for (int64_t r = 0; r < n_rois; ++r) {
    const T* roi = rois + r * 5;
    const int64_t b = static_cast<int64_t>(roi[0]);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int y = 0; y < ph; ++y)
        for (int x = 0; x < pw; ++x) {
          T fy = roi[2] * scale + (roi[4] - roi[2]) * scale * (y + T(0.5)) / ph;
          T fx = roi[1] * scale + (roi[3] - roi[1]) * scale * (x + T(0.5)) / pw;
          int64_t iy = std::min<int64_t>(std::max<int64_t>(0, (int64_t)fy), h - 1);
          int64_t ix = std::min<int64_t>(std::max<int64_t>(0, (int64_t)fx), w - 1);
          out[((r * c + ch) * ph + y) * pw + x] = in[((b * c + ch) * h + iy) * w + ix];
        }
  }
}

at::Tensor ROIAlign_forward_cpu(const at::Tensor& input, const at::Tensor& rois,
                                float spatial_scale, int pooled_height, int pooled_width) {
  AT_ASSERTM(!input.type().is_cuda(), "input must be a CPU tensor");
  AT_ASSERTM(rois.size(1) == 5, "rois must be (n, 5), got ", rois.size(1));
  AT_ASSERT(input.dim() == 4);
  if (input.type().scalarType() != rois.type().scalarType()) {
    AT_ERROR("input and rois must have the same dtype, got ", input.scalar_type(),
             " and ", rois.scalar_type());
  }
  auto output = at::zeros({rois.size(0), input.size(1), pooled_height, pooled_width},
                          input.options());
  AT_DISPATCH_FLOATING_TYPES(
      input.type(), "ROIAlign_forward", [&] {
        roi_align_kernel<scalar_t>(input.contiguous().data<scalar_t>(),
                                   rois.contiguous().data<scalar_t>(),
                                   output.data<scalar_t>(), rois.size(0), input.size(1),
                                   input.size(2), input.size(3), spatial_scale,
                                   pooled_height, pooled_width);
      });
  return output;
}
