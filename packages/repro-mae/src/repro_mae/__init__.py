"""repro-mae: reference Masked Autoencoder and a reproducible pre-training engine."""

__version__ = "0.1.0"
