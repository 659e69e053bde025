"""deepfit: train deep neural networks that actually train."""

__version__ = "0.1.0"

__all__ = ["__version__"]
