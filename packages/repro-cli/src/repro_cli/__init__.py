"""repro-cli: the thin `repro` command over the repro packages."""

__version__ = "0.1.0"
