"""A 2018-style DCGAN training script (torch 0.3 idioms), small enough to run on a CPU."""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

parser = argparse.ArgumentParser()
parser.add_argument('--nz', type=int, default=8)
parser.add_argument('--steps', type=int, default=2)
parser.add_argument('--local_rank', type=int, default=0)  # set by torch.distributed.launch
opt = parser.parse_args()


class G(nn.Module):
    def __init__(self, nz):
        super(G, self).__init__()
        self.fc = nn.Linear(nz, 16 * 4 * 4)
        nn.init.xavier_uniform(self.fc.weight)
        nn.init.constant(self.fc.bias, 0)

    def forward(self, z):
        x = self.fc(z).view(-1, 16, 4, 4)
        x = F.upsample(x, scale_factor=2)  # 8x8
        return F.tanh(x.mean(1, keepdim=True))


class D(nn.Module):
    def __init__(self):
        super(D, self).__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 1)

    def forward(self, x):
        return F.sigmoid(self.fc(F.relu(self.conv(x)).view(x.size(0), -1)))


netG, netD = G(opt.nz), D()
criterion = nn.BCELoss(size_average=True)
optD = torch.optim.Adam(netD.parameters(), lr=2e-4)
optG = torch.optim.Adam(netG.parameters(), lr=2e-4)
real = Variable(torch.rand(4, 1, 8, 8) * 2 - 1)
label = Variable(torch.ones(4, 1))
for step in range(opt.steps):
    noise = Variable(torch.randn(4, opt.nz))
    fake = netG(noise)
    errD = criterion(netD(real), label) + criterion(netD(fake.detach()), label * 0)
    optD.zero_grad()
    errD.backward()
    optD.step()
    errG = criterion(netD(fake), label)
    optG.zero_grad()
    errG.backward()
    optG.step()
    scores = np.zeros(2, dtype=np.float)
    scores[0], scores[1] = errD.data[0], errG.data[0]
    print('step %d loss_D %.4f loss_G %.4f' % (step, scores[0], scores[1]))
z = Variable(torch.randn(2, opt.nz), volatile=True)
print('sample', tuple(netG(z).shape), 'rank', opt.local_rank)
