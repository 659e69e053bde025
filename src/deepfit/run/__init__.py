"""The application layer: one set-up path from a `RunConfig` to a Trainer, training runs and their
directories, staged fine-tuning, pruning and sweeps. `deepfit.train` below it knows nothing of configs."""

from deepfit.run.rundir import create_run_dir, existing_run_dir, write_json
from deepfit.run.setup import build_member, build_trainer, load_splits, model_spec, resolve_device, update_rule
from deepfit.run.training import RunResult, final_metrics, load_run_config, run_training, versions

__all__ = [
    "RunResult",
    "build_member",
    "build_trainer",
    "create_run_dir",
    "existing_run_dir",
    "final_metrics",
    "load_run_config",
    "load_splits",
    "model_spec",
    "resolve_device",
    "run_training",
    "update_rule",
    "versions",
    "write_json",
]
