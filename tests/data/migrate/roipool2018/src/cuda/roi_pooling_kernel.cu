#include <stdio.h>
#include <cuda_runtime.h>
#include "roi_pooling_kernel.h"

__global__ void ROIPoolForward(const int nthreads, const float* bottom_data, float scale,
                               int height, int width, int channels, int ph_n, int pw_n,
                               const float* rois, float* top, int* argmax) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < nthreads;
       i += blockDim.x * gridDim.x) {
    int pw = i % pw_n, ph = (i / pw_n) % ph_n, c = (i / pw_n / ph_n) % channels;
    int n = i / pw_n / ph_n / channels;
    int b = (int)rois[n * 5];
    int h = min(max((int)roundf(rois[n * 5 + 2] * scale) + ph, 0), height - 1);
    int w = min(max((int)roundf(rois[n * 5 + 1] * scale) + pw, 0), width - 1);
    int idx = ((b * channels + c) * height + h) * width + w;
    top[i] = bottom_data[idx];
    argmax[i] = idx;
  }
}

int ROIPoolForwardLaucher(const float* bottom_data, float spatial_scale, int num_rois,
                          int height, int width, int channels, int pooled_height,
                          int pooled_width, const float* bottom_rois, float* top_data,
                          int* argmax_data, cudaStream_t stream) {
  const int n = num_rois * pooled_height * pooled_width * channels;
  ROIPoolForward<<<(n + 511) / 512, 512, 0, stream>>>(
      n, bottom_data, spatial_scale, height, width, channels, pooled_height, pooled_width,
      bottom_rois, top_data, argmax_data);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    fprintf(stderr, "cudaCheckError() failed : %s\n", cudaGetErrorString(err));
    return 0;
  }
  return 1;
}
