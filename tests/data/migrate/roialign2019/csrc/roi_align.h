// ROIAlign entry points (a maskrcnn-benchmark-style dispatcher, torch 1.0 era).
#pragma once
#include <torch/torch.h>

at::Tensor ROIAlign_forward_cpu(const at::Tensor& input, const at::Tensor& rois,
                                float spatial_scale, int pooled_height, int pooled_width);
#ifdef WITH_CUDA
at::Tensor ROIAlign_forward_cuda(const at::Tensor& input, const at::Tensor& rois,
                                 float spatial_scale, int pooled_height, int pooled_width);
#endif

// Dispatch by device: AT_ERROR when the build has no CUDA.
inline at::Tensor ROIAlign_forward(const at::Tensor& input, const at::Tensor& rois,
                                   float spatial_scale, int pooled_height, int pooled_width) {
  if (input.type().is_cuda()) {
#ifdef WITH_CUDA
    return ROIAlign_forward_cuda(input, rois, spatial_scale, pooled_height, pooled_width);
#else
    AT_ERROR("Not compiled with GPU support");
#endif
  }
  return ROIAlign_forward_cpu(input, rois, spatial_scale, pooled_height, pooled_width);
}
