from timm.optim.optim_factory import add_weight_decay
