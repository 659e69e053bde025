"""Keras 3 (torch backend) against deepfit with the Keras convention, at the chapter's settings, over seeds.

Three of the chapter's experiments, each trained in Keras (the chapter's code, transcribed) and in deepfit
(`[conventions] keras = true`, docs/keras-convention.md) on the very same arrays (deepfit's splits: the
first 5,000 training images validate):

- reference: ch. 10's 300-100 ReLU net (Glorot-uniform kernels), SGD 0.01, 30 epochs, batch 32, X / 255;
- transfer (handson-ml2 ch. 11 cells 73-94): model A, five SELU layers (Glorot) on task A, SGD 1e-3, 20
  epochs; model B from scratch on task B's first 200 images, 20 epochs; B on A: A's layers frozen 4 epochs,
  then 16 epochs with everything unfrozen, SGD 1e-3 throughout; test accuracy on task B;
- vanishing (handson-ml3 ch. 11 cells 31-42): 100 hidden layers of 100 units, SELU + LeCun normal against
  ReLU + He normal, SGD 1e-3, 5 epochs, standardised inputs.

For each row it prints both sides' means over the seeds with 95% intervals (t-distribution), whether
deepfit's mean lies inside Keras's interval, and the chapter's single-run figure. Keras is installed only by
this benchmark's own requirements, in a virtual environment of its own, never by the package:

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install -r benchmarks/requirements-keras.txt
    PYTHONPATH=src /tmp/kvenv/bin/python benchmarks/keras_parity.py --quick     # minutes: a subset, few epochs
    PYTHONPATH=src /tmp/kvenv/bin/python benchmarks/keras_parity.py             # the chapter's scale: hours
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import torch

from deepfit.config import config_from_dict, deep_merge
from deepfit.data import Splits
from deepfit.run.setup import load_splits
from deepfit.run.training import run_training
from deepfit.studies.stats import summarize


@dataclass(frozen=True)
class Scale:
    images: int | None  # training images of the plentiful tasks (None: all)
    ref_epochs: int = 30
    a_epochs: int = 20
    b_epochs: tuple[int, int] = (4, 16)  # frozen, then unfrozen
    deep_layers: int = 100
    deep_epochs: int = 5


FULL = Scale(images=None)
QUICK = Scale(images=3000, ref_epochs=2, a_epochs=2, b_epochs=(2, 3), deep_layers=20, deep_epochs=1)
# The chapter's single runs, where it gives one.
CHAPTER = {
    ("reference", "sgd"): "about 0.89 val (ch. 10)",
    ("transfer", "scratch"): "0.9705 test",
    ("transfer", "on_a"): "0.9940 test",
    ("vanishing", "selu_lecun"): "0.80 val",
    ("vanishing", "relu_he"): "0.71 val",
}
KERAS = {"conventions": {"keras": True}}
VALID_A, VALID_B = 4014, 986  # of the first 5,000 training images, task A's and task B's (the code's split)


# -- the two sides' networks and fits ------------------------------------------------------------------


def keras_dense(shape: tuple[int, ...], hidden: list[int], activation: str, outputs: int, *,
                init: str = "glorot_uniform") -> keras.Sequential:
    """Flatten -> Dense(units, activation, kernel_initializer=init) ... -> the output layer (Glorot)."""
    head = keras.layers.Dense(outputs, activation="softmax" if outputs > 1 else "sigmoid")
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                             *(keras.layers.Dense(u, activation=activation, kernel_initializer=init) for u in hidden),
                             head])


def keras_fit(model: keras.Model, splits: Splits, lr: float, epochs: int) -> None:
    """compile(SGD(learning_rate=lr)) and fit(epochs=epochs), batch 32 and shuffled each epoch (Keras's defaults)."""
    binary = splits.num_classes == 2
    loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    model.compile(loss=loss, optimizer=keras.optimizers.SGD(learning_rate=lr), metrics=["accuracy"])
    y = splits.train.y.numpy().astype("float32" if binary else "int64")
    model.fit(splits.train.x.numpy(), y, epochs=epochs, batch_size=32, verbose=0)


def keras_accuracy(model: keras.Model, part: Any) -> float:
    probs = np.asarray(model.predict(part.x.numpy(), batch_size=4096, verbose=0))
    pred = probs.argmax(1) if probs.shape[1] > 1 else (probs[:, 0] > 0.5)
    return float((pred == part.y.numpy()).mean())


def deepfit_run(cfg: dict[str, Any], splits: Splits, seed: int, *, out: Path | None = None) -> Any:
    run = deep_merge(cfg, {"train": {"seed": seed, "device": "cpu", "threads": 1, "engine": "eager"}})
    if out is not None:
        run = deep_merge(run, {"out": str(out), "name": f"model_a_{seed}"})
    return run_training(config_from_dict(run, source="keras_parity"), splits=splits, save=out is not None)


# -- the experiments: each returns {(experiment, variant): (keras accuracy, deepfit accuracy)} per seed -----


def _data(cfg: dict[str, Any]) -> Splits:
    return load_splits(config_from_dict(deep_merge(KERAS, cfg)))


def reference(scale: Scale, seed: int, cache: dict[str, Splits]) -> dict[tuple[str, str], tuple[float, float]]:
    cfg = {**KERAS, "model": {"hidden": [300, 100], "activation": "relu"}, "optimizer": {"name": "sgd", "lr": 0.01},
           "data": {"subset": scale.images} if scale.images else {}, "train": {"epochs": scale.ref_epochs}}
    splits = cache.setdefault("reference", _data(cfg))
    keras.utils.set_random_seed(seed)
    model = keras_dense(tuple(splits.input_shape), [300, 100], "relu", 10)
    keras_fit(model, splits, 0.01, scale.ref_epochs)
    ours = deepfit_run(cfg, splits, seed)
    return {("reference", "sgd"): (keras_accuracy(model, splits.valid), ours.metrics["valid"]["acc"])}


def transfer(scale: Scale, seed: int, cache: dict[str, Splits]) -> dict[tuple[str, str], tuple[float, float]]:
    net = {"hidden": [300, 100, 50, 50, 50], "activation": "selu"}
    sgd = {"name": "sgd", "lr": 1e-3}
    frozen, tuned = scale.b_epochs
    subset = {"subset": scale.images} if scale.images else {}
    cfg_a = {**KERAS, "model": net, "optimizer": sgd, "train": {"epochs": scale.a_epochs},
             "data": {"name": "fashion_mnist_a", "valid": VALID_A, **subset}}
    cfg_b = {**KERAS, "model": net, "optimizer": sgd, "train": {"epochs": frozen + tuned},
             "data": {"name": "fashion_mnist_b", "task": "binary", "subset": 200, "valid": VALID_B,
                      "options": {"holdout": VALID_B}}}
    splits_a, splits_b = cache.setdefault("a", _data(cfg_a)), cache.setdefault("b", _data(cfg_b))
    keras.utils.set_random_seed(seed)
    model_a = keras_dense(tuple(splits_a.input_shape), net["hidden"], "selu", 8)
    keras_fit(model_a, splits_a, 1e-3, scale.a_epochs)
    model_b = keras_dense(tuple(splits_b.input_shape), net["hidden"], "selu", 1)
    keras_fit(model_b, splits_b, 1e-3, frozen + tuned)
    clone = keras.models.clone_model(model_a)
    clone.set_weights(model_a.get_weights())
    on_a = keras.Sequential([keras.Input(tuple(splits_b.input_shape)), *clone.layers[:-1],
                             keras.layers.Dense(1, activation="sigmoid")])
    for layer in on_a.layers[:-1]:
        layer.trainable = False
    keras_fit(on_a, splits_b, 1e-3, frozen)
    for layer in on_a.layers[:-1]:
        layer.trainable = True
    keras_fit(on_a, splits_b, 1e-3, tuned)
    with tempfile.TemporaryDirectory(prefix="keras-parity-") as tmp:
        source = deepfit_run(cfg_a, splits_a, seed, out=Path(tmp)).run_dir
        scratch = deepfit_run(cfg_b, splits_b, seed)
        reused = deepfit_run({**cfg_b, "transfer": {"source": str(source), "freeze_epochs": frozen, "unfreeze": "all",
                                                    "lr_factor": 1.0, "head_lr_factor": 1.0}}, splits_b, seed)
    return {("transfer", "scratch"): (keras_accuracy(model_b, splits_b.test), scratch.metrics["test"]["acc"]),
            ("transfer", "on_a"): (keras_accuracy(on_a, splits_b.test), reused.metrics["test"]["acc"])}


def vanishing(scale: Scale, seed: int, cache: dict[str, Splits]) -> dict[tuple[str, str], tuple[float, float]]:
    out = {}
    for variant, activation, init in (("selu_lecun", "selu", "lecun_normal"), ("relu_he", "relu", "he_normal")):
        cfg = {**KERAS, "model": {"hidden": [100] * scale.deep_layers, "activation": activation, "init": init},
               "optimizer": {"name": "sgd", "lr": 1e-3}, "train": {"epochs": scale.deep_epochs},
               "data": {"standardize": True, **({"subset": scale.images} if scale.images else {})}}
        splits = cache.setdefault("deep", _data(cfg))  # standardised: the code's X_train_scaled
        keras.utils.set_random_seed(seed)
        model = keras_dense(tuple(splits.input_shape), [100] * scale.deep_layers, activation, 10, init=init)
        keras_fit(model, splits, 1e-3, scale.deep_epochs)
        out[("vanishing", variant)] = (keras_accuracy(model, splits.valid), deepfit_run(cfg, splits, seed).metrics[
            "valid"]["acc"])
    return out


EXPERIMENTS: dict[str, Callable[..., dict[tuple[str, str], tuple[float, float]]]] = {
    "reference": reference, "transfer": transfer, "vanishing": vanishing}


# -- the table ------------------------------------------------------------------------------------------


def _interval(values: list[float]) -> tuple[float, float, str]:
    s = summarize(values)
    return s["mean"], s["ci95"], f"{s['mean']:.4f} [{s['mean'] - s['ci95']:.4f}, {s['mean'] + s['ci95']:.4f}]"


def table(results: dict[tuple[str, str], list[tuple[float, float]]]) -> str:
    rows = ["| experiment | variant | Keras 3 mean [95% CI] | deepfit --keras mean [95% CI] | deepfit inside "
            "Keras's interval | chapter (one run) |", "| --- | --- | --- | --- | --- | --- |"]
    for (experiment, variant), pairs in results.items():
        k_mean, k_ci, k_text = _interval([k for k, _ in pairs])
        d_mean, _, d_text = _interval([d for _, d in pairs])
        inside = "yes" if abs(d_mean - k_mean) <= k_ci else "no"
        rows.append(f"| {experiment} | {variant} | {k_text} | {d_text} | {inside} | "
                    f"{CHAPTER.get((experiment, variant), '')} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help="seeds per side (default 5; --quick: 3)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK.images} training images of the plentiful tasks, "
                   "few epochs, 20 layers for the deep net")
    p.add_argument("--only", default=",".join(EXPERIMENTS), help="experiments, comma-separated")
    p.add_argument("--images", type=int, help="override the training images of the plentiful tasks")
    args = p.parse_args()
    scale = QUICK if args.quick else FULL
    if args.images:
        scale = replace(scale, images=args.images)
    seeds = args.seeds or (3 if args.quick else 5)
    torch.set_num_threads(1)
    print(f"keras {keras.__version__} ({keras.backend.backend()} backend), torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"{seeds} seeds, {scale}", flush=True)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    cache: dict[str, Splits] = {}
    start = time.perf_counter()
    for name in args.only.split(","):
        for seed in range(seeds):
            t = time.perf_counter()
            rows = EXPERIMENTS[name](scale, seed, cache)
            for key, pair in rows.items():
                results.setdefault(key, []).append(pair)
            shown = ", ".join(f"{v}: Keras {k:.4f}, deepfit {d:.4f}" for (_, v), (k, d) in rows.items())
            print(f"{name} seed {seed} ({time.perf_counter() - t:.0f} s): {shown}", flush=True)
    print(table(results))
    print(f"wall time {time.perf_counter() - start:.0f} s, load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
