"""Diagnostics: probes on layers (gradient statistics) for studies and users."""

from deepfit.diagnose.probes import GradientNormProbe, GradientNorms

__all__ = ["GradientNormProbe", "GradientNorms"]
