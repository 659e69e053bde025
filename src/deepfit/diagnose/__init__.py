"""Diagnostics: probes on the probe event (gradient and layer statistics), the training doctor's rules, runs
and repair loop, the LR finder, and calibration."""

from deepfit.diagnose import dynamics, regularization, weights  # noqa: F401  (their rules register into RULES)
from deepfit.diagnose.calibration import expected_calibration_error, negative_log_likelihood
from deepfit.diagnose.doctor import Diagnosis, LiveDoctor, diagnose, doctor_run, run_diagnosed
from deepfit.diagnose.learning import not_learning
from deepfit.diagnose.lr_finder import LRFinderResult, find_lr
from deepfit.diagnose.probes import GradientNormProbe, gradient_norms
from deepfit.diagnose.repair import Repair, fix_run  # the loop: deepfit.diagnose.repair.repair
from deepfit.diagnose.rules import RULES, Finding, diagnose_record
from deepfit.diagnose.stats import DoctorProbe, layer_statistics

__all__ = [
    "RULES",
    "Diagnosis",
    "DoctorProbe",
    "Finding",
    "GradientNormProbe",
    "LRFinderResult",
    "LiveDoctor",
    "Repair",
    "diagnose",
    "diagnose_record",
    "doctor_run",
    "expected_calibration_error",
    "find_lr",
    "fix_run",
    "gradient_norms",
    "layer_statistics",
    "negative_log_likelihood",
    "not_learning",
    "run_diagnosed",
]
