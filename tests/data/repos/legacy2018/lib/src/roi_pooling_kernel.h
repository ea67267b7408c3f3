int ROIPoolForwardLauncher(const float* data, const float* rois, cudaStream_t stream);
