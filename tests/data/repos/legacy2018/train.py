import collections

import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.misc import imresize
from torch.autograd import Variable

from lib.roi_pool import roi_pool


def evaluate(model, loader):
    total = 0
    for x, y in loader:
        x = Variable(x.cuda(), volatile=True)
        out = F.upsample(model(x), scale_factor=2, mode='bilinear')
        loss = F.cross_entropy(out, Variable(y.cuda()), size_average=False)
        total += loss.data[0]
    return total


def is_seq(x):
    return isinstance(x, collections.Iterable)


def resize(img):
    return imresize(img, (224, 224))


criterion = nn.MSELoss(size_average=False)
