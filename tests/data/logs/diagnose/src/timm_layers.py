from timm.models.layers.helpers import to_2tuple
