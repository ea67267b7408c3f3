import math
import sys
from typing import Iterable

import torch

import util.lr_sched as lr_sched


def train_one_epoch(model, data_loader: Iterable, optimizer, device, loss_scaler, log_writer):
    for samples, _ in data_loader:
        lr_sched.adjust_learning_rate(optimizer, 0, None)
        with torch.cuda.amp.autocast():
            loss, _, _ = model(samples, mask_ratio=0.75)
        if not math.isfinite(loss.item()):
            sys.exit(1)
        loss_scaler(loss, optimizer, parameters=model.parameters())
