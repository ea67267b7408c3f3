#include <THC/THC.h>
#include <math.h>
#include "cuda/roi_pooling_kernel.h"

extern THCState *state;

int roi_pooling_forward_cuda(int pooled_height, int pooled_width, float spatial_scale,
                             THCudaTensor * features, THCudaTensor * rois,
                             THCudaTensor * output, THCudaIntTensor * argmax)
{
    float * data_flat = THCudaTensor_data(state, features);
    float * rois_flat = THCudaTensor_data(state, rois);
    float * output_flat = THCudaTensor_data(state, output);
    int * argmax_flat = THCudaIntTensor_data(state, argmax);
    int num_rois = THCudaTensor_size(state, rois, 0);
    if (THCudaTensor_size(state, rois, 1) != 5)
        return 0;
    cudaStream_t stream = THCState_getCurrentStream(state);
    ROIPoolForwardLaucher(data_flat, spatial_scale, num_rois,
                          THCudaTensor_size(state, features, 2),
                          THCudaTensor_size(state, features, 3),
                          THCudaTensor_size(state, features, 1), pooled_height,
                          pooled_width, rois_flat, output_flat, argmax_flat, stream);
    return 1;
}

int roi_pooling_backward_cuda(int pooled_height, int pooled_width, float spatial_scale,
                              THCudaTensor * top_grad, THCudaTensor * rois,
                              THCudaTensor * bottom_grad, THCudaIntTensor * argmax)
{
    (void)pooled_height; (void)pooled_width; (void)spatial_scale;
    (void)top_grad; (void)rois; (void)bottom_grad; (void)argmax;
    THError("roi_pooling_backward_cuda: not in this test input");
    return 0;
}
