"""The training doctor: a short probe training of a config and its findings.

`doctor_run(cfg)` trains the run `cfg` describes for a few hundred steps with `DoctorProbe` attached and
returns a `Diagnosis`; `diagnose(x)` reads the findings of a Trainer, run result or diagnosis that carries
a probe record. Rules live in diagnose/rules.py and diagnose/learning.py, statistics in diagnose/stats.py,
the repair loop in diagnose/repair.py.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from deepfit.config import RunConfig, config_from_dict, to_dict
from deepfit.data import Splits
from deepfit.diagnose.learning import learning
from deepfit.diagnose.rules import Finding, diagnose_record
from deepfit.diagnose.stats import DoctorProbe
from deepfit.errors import ConfigError
from deepfit.nn import ACTIVATIONS
from deepfit.nn.build import dropout_rates
from deepfit.optim import resolve_penalty
from deepfit.run import RunResult, build_member, load_splits, run_training, write_json
from deepfit.run.setup import dense_spec, run_lr
from deepfit.run.training import self_normalization_violations
from deepfit.train import Trainer
from deepfit.train.batches import steps_per_epoch

DEFAULT_STEPS = 300
PROBES = 20  # probe events in a doctor run


@dataclass
class Diagnosis:
    """The doctor's findings on one run, with the probe record, the run's context and its history."""

    findings: list[Finding]
    record: dict[str, Any]
    context: dict[str, Any]
    config: RunConfig
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """No finding, and learning: a net at chance is never healthy, whichever rules ran."""
        return not self.findings and learning(self.record, self.context)

    @property
    def accuracy(self) -> float:
        """The final validation accuracy (training accuracy for a run without validation data)."""
        return _score(self.metrics, "acc")

    @property
    def loss(self) -> float:
        """The final validation loss (training loss for a run without validation data)."""
        return _score(self.metrics, "loss")

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "context": self.context, "record": self.record,
                "config": to_dict(self.config), "metrics": self.metrics}

    def _repr_html_(self) -> str:
        """The doctor's page inline in Jupyter (report/notebook.py)."""
        from deepfit.config import to_toml
        from deepfit.report.notebook import diagnosis_html

        return diagnosis_html(self.to_dict(), config_text=to_toml(self.config))


def _score(metrics: dict[str, Any], key: str) -> float:
    for split in ("valid", "train"):
        if isinstance(metrics.get(split), dict) and key in metrics[split]:
            return float(metrics[split][key])
    return math.nan


def class_frequencies(splits: Splits, task: str) -> list[float] | None:
    """Each class's share of the training labels (None for regression), for `not_learning`'s chance level."""
    y = splits.train.y
    if task == "regression" or not len(y):
        return None
    if task == "binary":
        p = round(float(y.float().mean()), 6)
        return [1 - p, p]
    counts = torch.bincount(y.long().flatten(), minlength=splits.num_classes or 0)
    return [round(float(c), 6) for c in counts / counts.sum()]


def _penalty_factors(cfg: RunConfig) -> dict[str, float]:
    """The default kernel penalty's `l1` and `l2` factors (0 without one)."""
    resolved = resolve_penalty(cfg.regularization.penalty)
    return {"l1": resolved[0].l1, "l2": resolved[0].l2} if resolved else {"l1": 0.0, "l2": 0.0}


def run_context(cfg: RunConfig, splits: Splits) -> dict[str, Any]:
    """What the rules need to know of the run besides its probes: activation, init, normalisation, lr, ..."""
    spec = dense_spec(cfg, splits, "the doctor")
    name = spec.activation if isinstance(spec.activation, str) else spec.activation.get("name", "")
    model = build_member(cfg, spec)
    violations = self_normalization_violations(model, spec, splits, cfg)
    return {
        "activation": ACTIVATIONS.canonical(name),
        "init": spec.init if isinstance(spec.init, str) else spec.init.get("name"),
        "norm": spec.norm,
        "input_norm": spec.input_norm,
        "dropout_kind": spec.dropout_kind,
        "dropout": max(dropout_rates(spec), default=0.0),  # the highest hidden rate (diagnose/regularization.py)
        "penalty": _penalty_factors(cfg),
        "standardized": splits.mean is not None,
        "optimizer": cfg.optimizer.name,
        "lr": run_lr(cfg),
        "batch_size": cfg.train.batch_size,
        "task": cfg.data.task,
        "images": len(splits.input_shape) >= 2,
        "hidden": list(spec.hidden),
        "selfnorm": [dataclasses.asdict(v) for v in violations],
        "transfer": cfg.transfer is not None,
        "classes": splits.num_classes,
        "class_frequencies": class_frequencies(splits, cfg.data.task),
    }


def doctor_config(cfg: RunConfig, splits: Splits, steps: int = DEFAULT_STEPS) -> RunConfig:
    """`cfg` made into a doctor run of about `steps` optimizer steps (whole epochs), without early stopping,
    with about `PROBES` probe events."""
    if steps < 2:
        raise ConfigError(f"--steps: the doctor needs at least 2 steps, got {steps}")
    per_epoch = steps_per_epoch(len(splits.train), cfg.train.batch_size, drop_last=cfg.train.drop_last)
    epochs = max(1, math.ceil(steps / per_epoch))
    data = to_dict(cfg)
    data["train"].update(epochs=epochs, early_stopping=False, probe_every=max(1, (epochs * per_epoch) // PROBES))
    return config_from_dict(data, source="doctor")


def check_run(cfg: RunConfig, splits: Splits) -> None:
    """Refuse what the doctor cannot read: a regression task, a network without hidden layers."""
    if cfg.data.task == "regression":
        raise ConfigError("the doctor reads classification runs only (its rules use accuracy and the loss's scale); "
                          "data.task is 'regression'")
    hidden = dense_spec(cfg, splits, "the doctor").hidden
    if not hidden:
        raise ConfigError("the doctor needs a network with at least one hidden layer; model.hidden is empty")


def doctor_run(cfg: RunConfig, *, steps: int = DEFAULT_STEPS, splits: Splits | None = None,
               quiet: bool = True) -> Diagnosis:
    """Train `cfg` for about `steps` steps with the doctor's probe and read its findings.

    Raises:
        ConfigError: a regression task, a network without hidden layers, or fewer than 2 steps.
    """
    splits = splits if splits is not None else load_splits(cfg)
    check_run(cfg, splits)
    run = doctor_config(cfg, splits, steps)
    result = run_training(run, save=False, splits=splits, quiet=quiet, extra_callbacks=[DoctorProbe()])
    return read_diagnosis(result, run_context(cfg, splits), cfg)


def read_diagnosis(result: RunResult, context: dict[str, Any], config: RunConfig | None = None) -> Diagnosis:
    """The findings of a finished run that had a `DoctorProbe` (its member's own copy); `config` is the
    config to fix (the run's own by default)."""
    record = probe_record(result.trainer, result.member)
    return Diagnosis(diagnose_record(record, context), record, context, config or result.config, result.metrics)


def probe_record(trainer: Trainer, member: int = 0) -> dict[str, Any]:
    """The doctor's probe record of member `member` of `trainer`.

    Raises:
        ConfigError: the Trainer had no `DoctorProbe` (train with `--diagnose`, or run `deepfit doctor`).
    """
    probes = [c for c in trainer.members[member].callbacks.values() if isinstance(c, DoctorProbe)]
    if not probes or not probes[0].record["probes"]:
        raise ConfigError("this run has no doctor probes: train it with --diagnose, or run `deepfit doctor` on its "
                          "config")
    return probes[0].record


def diagnose(target: Trainer | RunResult | Diagnosis, context: dict[str, Any] | None = None) -> list[Finding]:
    """The findings on a Trainer or run result that trained with `DoctorProbe`, or of a `Diagnosis`."""
    if isinstance(target, Diagnosis):
        return target.findings
    trainer, member = (target.trainer, target.member) if isinstance(target, RunResult) else (target, 0)
    return diagnose_record(probe_record(trainer, member), context or {})


class LiveDoctor(DoctorProbe):
    """`DoctorProbe` that also reads its findings at every epoch's end and reports each new one once, when
    it first appears (`deepfit train --diagnose`)."""

    def __init__(self, context: dict[str, Any], report: Callable[[Finding, int], None]) -> None:
        super().__init__()
        self.context, self.report = context, report
        self.seen: set[str] = set()

    def on_epoch_end(self, view: Any, logs: Any) -> None:
        super().on_epoch_end(view, logs)
        for finding in diagnose_record(self.record, self.context):
            if finding.name not in self.seen:
                self.seen.add(finding.name)
                self.report(finding, int(logs["epoch"]))


def run_diagnosed(cfg: RunConfig, *, report: Callable[[Finding, int], None] | None = None,
                  **options: Any) -> tuple[RunResult, Diagnosis]:
    """`run.run_training(cfg, **options)` with the doctor attached: the run's result and its diagnosis.

    `report(finding, epoch)` hears of each finding when it first appears; with a run directory the
    diagnosis is written beside the run's files as `diagnosis.json`.
    """
    splits = options.pop("splits", None)
    splits = splits if splits is not None else load_splits(cfg)
    check_run(cfg, splits)
    context = run_context(cfg, splits)
    doctor = LiveDoctor(context, report or (lambda finding, epoch: None))
    result = run_training(cfg, splits=splits, extra_callbacks=[*options.pop("extra_callbacks", ()), doctor],
                          **options)
    diagnosis = read_diagnosis(result, context, cfg)
    if result.run_dir is not None:
        write_json(result.run_dir / "diagnosis.json", diagnosis.to_dict())
    return result, diagnosis
