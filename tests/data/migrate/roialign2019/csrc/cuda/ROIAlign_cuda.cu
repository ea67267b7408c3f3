// CUDA ROIAlign of the THC era (torch 1.0-1.10): THC headers, THCState, THCCeilDiv,
// THCudaCheck, THC's stream and allocator. Comments that name THCudaCheck( are left alone.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <THC/THC.h>
#include <THC/THCAtomics.cuh>
#include <THC/THCDeviceUtils.cuh>

extern THCState *state;

template <typename T>
__global__ void RoIAlignForward(const int nthreads, const T* in, const T* rois, T* out,
                                int c, int h, int w, float scale, int ph, int pw) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < nthreads;
       i += blockDim.x * gridDim.x) {
    int x = i % pw, y = (i / pw) % ph, ch = (i / pw / ph) % c, r = i / pw / ph / c;
    const T* roi = rois + r * 5;
    int b = (int)roi[0];
    T fy = roi[2] * scale + (roi[4] - roi[2]) * scale * (y + T(0.5)) / ph;
    T fx = roi[1] * scale + (roi[3] - roi[1]) * scale * (x + T(0.5)) / pw;
    int iy = min(max(0, (int)fy), h - 1), ix = min(max(0, (int)fx), w - 1);
    out[i] = in[((b * c + ch) * h + iy) * w + ix];
  }
}

at::Tensor ROIAlign_forward_cuda(const at::Tensor& input, const at::Tensor& rois,
                                 float spatial_scale, int pooled_height, int pooled_width) {
  AT_ASSERTM(input.type().is_cuda(), "input must be a CUDA tensor");
  AT_ASSERTM(rois.type().is_cuda(), "rois must be a CUDA tensor");
  auto output = at::empty({rois.size(0), input.size(1), pooled_height, pooled_width},
                          input.options());
  auto output_size = output.numel();
  cudaStream_t stream = THCState_getCurrentStream(state);
  dim3 grid(std::min(THCCeilDiv((long)output_size, 512L), 4096L));
  dim3 block(512);
  if (output.numel() == 0) {
    THCudaCheck(cudaGetLastError());
    return output;
  }
  // scratch space from THC's caching allocator (as old kernels did for workspaces)
  void* scratch = THCudaMalloc(state, output_size * sizeof(float));
  AT_DISPATCH_FLOATING_TYPES(
      input.type(), "ROIAlign_forward", [&] {
        RoIAlignForward<scalar_t><<<grid, block, 0, stream>>>(
            output_size, input.contiguous().data<scalar_t>(),
            rois.contiguous().data<scalar_t>(), output.data<scalar_t>(), input.size(1),
            input.size(2), input.size(3), spatial_scale, pooled_height, pooled_width);
      });
  THCudaFree(state, scratch);
  THCudaCheck(cudaGetLastError());
  return output;
}
