from .model import TinyViT, build_model  # noqa: F401
