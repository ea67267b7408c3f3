// The Python binding: torch/torch.h (pre-1.0 tutorials), not torch/extension.h.
#include <torch/torch.h>
#include "roi_align.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("roi_align_forward", &ROIAlign_forward, "ROIAlign forward (AT_ERROR without CUDA)");
}
