import argparse
import torch

torch.save({"args": argparse.Namespace(lr=0.1), "state": {}}, "ckpt.pth")
ckpt = torch.load("ckpt.pth")
