"""`deepfit pretrain`: greedy unsupervised pretraining from a `RunConfig`, saved as a model directory.

The directory holds `model.json` + `model.safetensors` (the pretrained hidden layers and an untrained
head), `config.toml` and `pretrain.json` (each layer's final losses); `deepfit transfer --from DIR` or
`[transfer] source = DIR` starts a classifier from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepfit.atomic import write_text_atomic
from deepfit.config import RunConfig, to_toml
from deepfit.data import TensorData
from deepfit.nn import ModelSpec, save_model
from deepfit.pretrain.autoencoder import pretrain_autoencoder
from deepfit.pretrain.auxiliary import pretrain_siamese
from deepfit.pretrain.gan import pretrain_gan
from deepfit.pretrain.rbm import pretrain_rbm
from deepfit.registry import Registry
from deepfit.run import create_run_dir, load_splits, resolve_device, update_rule, versions, write_json
from deepfit.run.setup import dense_spec
from deepfit.train.seeding import seed_everything

PRETRAINERS: Registry = Registry("pretrainer")  # (spec, train, valid, **options) -> (model, layer rows)


def _unlabelled(pretrain: Callable[..., Any]) -> Callable[..., Any]:
    def adapted(spec: ModelSpec, train: TensorData, valid: TensorData | None = None, **options: Any) -> Any:
        return pretrain(spec, train.x, valid=None if valid is None else valid.x, **options)

    adapted.__wrapped__ = pretrain  # `Registry` lists the wrapped function's parameters on a bad keyword
    return adapted


PRETRAINERS.add(
    "autoencoder",
    _unlabelled(pretrain_autoencoder),
    summary="greedy layer-wise (denoising) autoencoders, Bengio et al. 2007; Vincent et al. 2008",
)
PRETRAINERS.add(
    "rbm",
    _unlabelled(pretrain_rbm),
    summary="stacked Bernoulli RBMs trained with CD-k (Hinton 2002; Hinton et al. 2006); sigmoid, [0,1] inputs",
)
PRETRAINERS.add(
    "gan",
    _unlabelled(pretrain_gan),
    summary="the discriminator of a dense GAN trained on unlabelled samples (Goodfellow et al. 2014)",
)
PRETRAINERS.add(
    "siamese",
    pretrain_siamese,
    summary="twin encoder on same/different-class pairs: contrastive (Hadsell 2006) or binary head",
)


def run_pretraining(
    cfg: RunConfig, method: str, *, options: dict[str, Any] | None = None, run_dir: Path | None = None
) -> Path:
    """Pretrain `cfg.model.hidden` with `method` on the training split; return the directory.

    The autoencoder, RBM and GAN ignore the labels; the siamese encoder uses them to form pairs.
    `cfg.train.epochs` is per layer (per encoder for siamese); `cfg.optimizer` and `[schedule]` give the
    update rule, as for training;
    `options` go to the pretrainer (noise, noise_level: autoencoder; k: rbm; latent_dim: gan; loss, margin, pairs:
    siamese).
    """
    t = cfg.train
    device = resolve_device(t.device)
    run_dir = run_dir if run_dir is not None else create_run_dir(cfg.out, cfg.name)
    write_text_atomic(run_dir / "config.toml", to_toml(cfg))
    seed_everything(t.seed)
    splits = load_splits(cfg)
    spec = dense_spec(cfg, splits, "pretraining")
    start = time.perf_counter()
    model, layers = PRETRAINERS.build(
        method,
        spec,
        splits.train.to(device),
        valid=None if splits.valid is None else splits.valid.to(device),
        rule=update_rule(cfg, splits)[0],
        epochs=t.epochs,
        batch_size=t.batch_size,
        device=device,
        seed=t.seed,
        **(options or {}),
    )
    tensors = {"mean": splits.mean, "std": splits.std} if splits.mean is not None else None
    extra = {
        "pretrain": PRETRAINERS.canonical(method),
        "class_names": splits.class_names,
        "standardized": splits.mean is not None,
    }
    save_model(model, spec, run_dir, extra=extra, tensors=tensors)
    write_json(
        run_dir / "pretrain.json",
        {
            "method": PRETRAINERS.canonical(method),
            "options": options or {},
            "layers": layers,
            "time_s": time.perf_counter() - start,
            "versions": versions(),
        },
    )
    return run_dir
