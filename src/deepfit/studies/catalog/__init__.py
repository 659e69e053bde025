"""One module per study; importing this package registers them all."""

from deepfit.studies.catalog import reference

__all__ = ["reference"]
