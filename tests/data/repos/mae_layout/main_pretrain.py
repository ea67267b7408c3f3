import argparse

import numpy as np
import torch
import torch.backends.cudnn as cudnn
import torchvision.transforms as transforms
from torch.utils.tensorboard import SummaryWriter

import timm

assert timm.__version__ == "0.3.2"  # version check
import timm.optim.optim_factory as optim_factory

import models_mae
import util.misc as misc
from engine_pretrain import train_one_epoch


def get_args_parser():
    parser = argparse.ArgumentParser('MAE pre-training', add_help=False)
    parser.add_argument('--local_rank', default=-1, type=int)
    return parser


def main(args):
    model = models_mae.mae_vit_base_patch16()
    param_groups = optim_factory.add_weight_decay(model, args.weight_decay)
    optimizer = torch.optim.AdamW(param_groups, lr=args.lr, betas=(0.9, 0.95))
    log_writer = SummaryWriter(log_dir=args.log_dir)
    cudnn.benchmark = True
    train_one_epoch(model, None, optimizer, None, misc.NativeScalerWithGradNormCount(), log_writer)
    return np.zeros(1), transforms.ToTensor()
