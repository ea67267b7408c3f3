import math


def adjust_learning_rate(optimizer, epoch, args):
    return math.cos(epoch)
