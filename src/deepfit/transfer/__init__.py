"""Model surgery for transfer learning: reuse lower layers, clone, freeze, per-layer rates, feature caching.

Imports `nn` only; the staged fine-tuning that uses these lives in `run/staged.py`.
"""

from deepfit.transfer.feature_cache import cache_features, cacheable_layers, is_deterministic, split_frozen
from deepfit.transfer.freeze import (
    freeze,
    frozen_layers,
    is_frozen,
    select_layers,
    trainable_parameters,
    unfreeze,
)
from deepfit.transfer.param_groups import lr_factors
from deepfit.transfer.reuse import (
    check_head,
    clone,
    hidden_names,
    layer_names,
    out_features,
    reuse,
    reuse_count,
    transfer_model,
    transfer_spec,
    with_head,
)

__all__ = [
    "cache_features",
    "cacheable_layers",
    "check_head",
    "clone",
    "freeze",
    "frozen_layers",
    "hidden_names",
    "is_deterministic",
    "is_frozen",
    "layer_names",
    "lr_factors",
    "out_features",
    "reuse",
    "reuse_count",
    "select_layers",
    "split_frozen",
    "trainable_parameters",
    "transfer_model",
    "transfer_spec",
    "unfreeze",
    "with_head",
]
