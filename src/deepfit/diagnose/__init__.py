"""Diagnostics: probes on the probe event (gradient statistics), the LR finder, and calibration."""

from deepfit.diagnose.calibration import expected_calibration_error, negative_log_likelihood
from deepfit.diagnose.lr_finder import LRFinderResult, find_lr
from deepfit.diagnose.probes import GradientNormProbe, gradient_norms

__all__ = [
    "GradientNormProbe",
    "LRFinderResult",
    "expected_calibration_error",
    "find_lr",
    "gradient_norms",
    "negative_log_likelihood",
]
