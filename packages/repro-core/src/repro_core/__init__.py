"""repro-core: environment resolution for ML papers (never imports torch)."""

__version__ = "0.1.0"
