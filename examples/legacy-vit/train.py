import argparse
import os

import numpy as np
import torch
import torch.distributed as dist
from torch.autograd import Variable
from torch.utils.data import DataLoader

from vit import build_model
from vit.data import BarsDataset
from vit.loss import HAS_EXT, LabelSmoothingCrossEntropy
from vit.utils import AverageMeter, Timer, to_device


def get_args_parser():
    parser = argparse.ArgumentParser('TinyViT training', add_help=True)
    parser.add_argument('--steps', default=200, type=int)
    parser.add_argument('--batch-size', default=64, type=int)
    parser.add_argument('--lr', default=5e-4, type=float)
    parser.add_argument('--weight-decay', default=0.05, type=float)
    parser.add_argument('--smoothing', default=0.1, type=float)
    parser.add_argument('--input-size', default=32, type=int)
    parser.add_argument('--patch-size', default=8, type=int)
    parser.add_argument('--depth', default=3, type=int)
    parser.add_argument('--num-classes', default=4, type=int)
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--seed', default=0, type=int)
    parser.add_argument('--workers', default=0, type=int)
    parser.add_argument('--output', default='')
    parser.add_argument('--resume', default='')
    parser.add_argument('--local_rank', default=0, type=int)
    return parser


def init_distributed(args):
    if 'WORLD_SIZE' in os.environ and int(os.environ['WORLD_SIZE']) > 1:
        torch.cuda.set_device(args.local_rank)
        dist.init_process_group(backend='nccl', init_method='env://')
        args.distributed = True
    else:
        args.distributed = False


def main(args):
    init_distributed(args)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)

    model = build_model(args).to(device)
    if args.distributed:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[args.local_rank])
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr,
                                  weight_decay=args.weight_decay)
    criterion = LabelSmoothingCrossEntropy(args.smoothing)
    start = 0
    if args.resume:
        checkpoint = torch.load(args.resume, map_location='cpu')
        model.load_state_dict(checkpoint['model'])
        optimizer.load_state_dict(checkpoint['optimizer'])
        start = checkpoint['step']
        print('resumed from step %d (lr was %g)' % (start, checkpoint['args'].lr))

    dataset = BarsDataset(length=args.steps * args.batch_size, size=args.input_size,
                          num_classes=args.num_classes, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False,
                        num_workers=args.workers, drop_last=True)
    print('extension: %s, params: %d' % ('C++' if HAS_EXT else 'python',
                                         sum(p.numel() for p in model.parameters())))
    meter, timer = AverageMeter(), Timer()
    model.train()
    for step, batch in enumerate(loader, start=start):
        images, labels = to_device(batch, device)
        images, labels = Variable(images), Variable(labels)
        logits = model(images)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        meter.update(loss.item(), images.size(0))
        acc = (logits.argmax(-1) == labels).float().mean().item()
        print('step %d loss %.4f acc %.3f (%.1fs)' % (step, loss.item(), acc, timer.elapsed()))
        if step + 1 >= start + args.steps:
            break
    print('done: mean loss %.4f' % meter.avg)
    if args.output and (not args.distributed or dist.get_rank() == 0):
        torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                    'step': step + 1, 'args': args}, args.output)


if __name__ == '__main__':
    main(get_args_parser().parse_args())
