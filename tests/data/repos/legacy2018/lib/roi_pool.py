from torch.autograd import Function

from ._ext import roi_pooling


class RoIPoolFunction(Function):
    def forward(self, features, rois):
        return roi_pooling.roi_pooling_forward_cuda(features, rois)
