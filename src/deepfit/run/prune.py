"""Prune a trained run by weight magnitude, optionally fine-tune with the masks held fixed, and save the
result as a new run directory inside the original (the original model is never touched)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.config import to_toml
from deepfit.errors import ConfigError
from deepfit.nn import load_model, save_model
from deepfit.optim import apply_masks_, magnitude_masks, sparsity_report
from deepfit.run.rundir import create_run_dir, write_json
from deepfit.run.setup import build_trainer, eval_batch_option, load_splits, resolve_device
from deepfit.run.training import load_run_config
from deepfit.train import Trainer, objective_for
from deepfit.train.seeding import seed_everything


@dataclass
class PruneResult:
    """Where the pruned model went, zeros per layer, and figures before pruning, after it and after tuning."""

    run_dir: Path
    sparsity: dict[str, dict[str, float]]
    metrics: dict[str, Any]


def prune_run(
    run_dir: str | Path,
    *,
    sparsity: float | None = None,
    threshold: float | None = None,
    finetune_epochs: int = 0,
    device: str = "auto",
) -> PruneResult:
    """Zero the smallest kernel weights of `run_dir`'s model (per layer, to `sparsity`, or |w| <= `threshold`).

    Fine-tuning runs `finetune_epochs` epochs with the run's own optimizer and regularization, the masks
    re-applied after every step, so pruned weights stay exactly zero. Writes `<run_dir>/pruned-<time>/`.
    """
    if finetune_epochs < 0:
        raise ConfigError(f"--finetune-epochs: expected an integer >= 0, got {finetune_epochs}")
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    model, spec, meta, extra = load_model(run_dir)
    masks = magnitude_masks(model, sparsity=sparsity, threshold=threshold)  # validates before loading data
    dev = resolve_device(device)
    splits = load_splits(cfg).to(dev)
    evaluator = Trainer(
        model, objective_for(cfg.train.loss, cfg.data.task), device=dev, eval_batch_size=eval_batch_option(cfg.train)
    )
    metrics: dict[str, Any] = {"before": _figures(evaluator, splits)}
    apply_masks_(model, masks)  # fine-tuning re-applies the masks after every step
    metrics["pruned"] = _figures(evaluator, splits)
    out = create_run_dir(run_dir, "pruned")
    if finetune_epochs:
        seed_everything(cfg.train.seed)
        trainer = build_trainer(cfg, model, splits, dev, masks=masks)
        trainer.fit(splits.train, splits.valid, epochs=finetune_epochs, verbose=0)
        trainer.history.to_csv(out / "history.csv")
        metrics["finetuned"] = _figures(trainer, splits)
    report = sparsity_report(model)
    metrics.update(
        sparsity=report,
        target_sparsity=sparsity,
        threshold=threshold,
        finetune_epochs=finetune_epochs,
        source=str(run_dir),
    )
    write_text_atomic(out / "config.toml", to_toml(cfg))
    kept = {k: v for k, v in meta.items() if k not in ("format", "version", "spec")}
    save_model(model, spec, out, extra=kept, tensors=extra or None)
    write_json(out / "metrics.json", metrics)
    return PruneResult(out, report, metrics)


def _figures(trainer: Trainer, splits: Any) -> dict[str, dict[str, float]]:
    return {
        name: trainer.evaluate(data)
        for name in ("valid", "test")
        if (data := getattr(splits, name)) is not None and len(data)
    }
