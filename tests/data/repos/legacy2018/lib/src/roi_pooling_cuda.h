int roi_pooling_forward_cuda(THCudaTensor *features, THCudaTensor *rois);
