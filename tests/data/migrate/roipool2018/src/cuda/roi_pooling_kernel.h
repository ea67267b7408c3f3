#ifndef ROI_POOLING_KERNEL_H
#define ROI_POOLING_KERNEL_H
#ifdef __cplusplus
extern "C" {
#endif
int ROIPoolForwardLaucher(const float* bottom_data, float spatial_scale, int num_rois,
                          int height, int width, int channels, int pooled_height,
                          int pooled_width, const float* bottom_rois, float* top_data,
                          int* argmax_data, cudaStream_t stream);
#ifdef __cplusplus
}
#endif
#endif
