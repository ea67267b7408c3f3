#include <THC/THC.h>
#include <math.h>
#include "roi_pooling_kernel.h"

extern THCState *state;

int roi_pooling_forward_cuda(THCudaTensor *features, THCudaTensor *rois)
{
    // the old C API: THCudaTensor_data is gone in torch >= 1.0
    float *data_flat = THCudaTensor_data(state, features);
    float *rois_flat = THCudaTensor_data(state, rois);
    cudaStream_t stream = THCState_getCurrentStream(state);
    return ROIPoolForwardLauncher(data_flat, rois_flat, stream);
}
