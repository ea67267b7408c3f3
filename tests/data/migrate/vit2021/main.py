import argparse

import torch
import torch.nn as nn
import timm
from timm.optim import optim_factory

from models_vit import TinyViT, grad_norm, pos_scale

assert timm.__version__ == "0.3.2"  # version check


def get_args_parser():
    parser = argparse.ArgumentParser('tiny vit', add_help=False)
    parser.add_argument('--weight_decay', type=float, default=0.05)
    parser.add_argument('--local_rank', default=-1, type=int)
    return parser


def main(args):
    model = TinyViT()
    param_groups = optim_factory.add_weight_decay(model, args.weight_decay)
    optimizer = torch.optim.AdamW(param_groups, lr=1e-3)
    scaler = torch.cuda.amp.GradScaler(enabled=False)
    x = torch.randn(2, 3, 32, 32)
    with torch.cuda.amp.autocast(enabled=False):
        loss = model(x).pow(2).mean()
    scaler.scale(loss).backward()
    print('grad norm %.4f' % float(grad_norm(model.parameters())))
    scaler.step(optimizer)
    print('ok', tuple(model(x).shape), float(pos_scale(4).sum()), args.local_rank)


if __name__ == '__main__':
    main(get_args_parser().parse_args())
