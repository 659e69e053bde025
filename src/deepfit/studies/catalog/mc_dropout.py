"""MC Dropout (Gal & Ghahramani 2016): accuracy, NLL and calibration against the number of stochastic passes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from deepfit.diagnose.calibration import expected_calibration_error, negative_log_likelihood
from deepfit.report import plot_series
from deepfit.run import RunResult
from deepfit.studies.spec import KERAS, STUDIES, Study
from deepfit.studies.verdicts import improves

SAMPLES = (1, 5, 10, 30, 100)  # stochastic passes averaged per prediction
MOST = SAMPLES[-1]
FIGURES = ("test_acc", "test_nll", "test_ece")


def mc_by_samples(result: RunResult) -> dict[str, float]:
    """The plain prediction's test accuracy, NLL and ECE, and MC Dropout's for each number of passes.

    One MC prediction per number of passes, each with the run's seed, so the curves are paired by seed.
    """
    test = result.splits.test
    y = test.y.cpu()

    def figures(probs: Any, prefix: str) -> dict[str, float]:
        return {f"{prefix}test_acc": float((probs.argmax(1) == y).double().mean()),
                f"{prefix}test_nll": negative_log_likelihood(probs, y),
                f"{prefix}test_ece": expected_calibration_error(probs, y)}

    out = figures(result.test_probabilities(), "")
    for n in SAMPLES:
        mc = result.predict(test.x, mc_samples=n, seed=result.config.train.seed).mean.cpu()
        out.update(figures(mc, f"mc{n}_"))
    return out


def plot_by_samples(res: Any, plots: Path) -> None:
    """Each figure against the number of passes (mean over seeds), the plain prediction as a flat line."""
    for figure in FIGURES:
        series = {}
        for variant in res.study.variants:
            runs = [r for r in res.runs if r["variant"] == variant]
            series[f"{variant}: MC Dropout"] = [_mean([r[f"mc{n}_{figure}"] for r in runs]) for n in SAMPLES]
            series[f"{variant}: plain"] = [_mean([r[figure] for r in runs])] * len(SAMPLES)
        plot_series(list(SAMPLES), series, plots / f"mc_{figure}.png", xlabel="stochastic passes", ylabel=figure,
                    logx=True, title=f"{res.study.name}: {figure} of MC Dropout (mean over seeds)")


def _mean(xs: list[float]) -> float:
    finite = [x for x in xs if math.isfinite(x)]
    return sum(finite) / len(finite) if finite else math.nan


@STUDIES.register("mc_dropout", summary="MC Dropout vs the plain prediction: accuracy, NLL, ECE by passes")
def mc_dropout() -> Study:
    """Claim: averaging the predictions of many stochastic passes with dropout on (MC Dropout) gives
    better-calibrated probabilities and a lower test negative log-likelihood than the plain prediction,
    and adds a little accuracy: about 0.2 points in the chapter's example (Géron, ch. 11; Gal &
    Ghahramani 2016). The network is the chapter's dropout example: 100-100 ReLU with He init, dropout 0.2
    on the inputs and after each hidden layer, trained as the chapter's code compiles it: SGD with momentum
    0.9 at lr 0.01, batch 32, 10 epochs, inputs scaled to [0, 1] and not standardised; `selu_alpha` is the
    self-normalizing version with alpha dropout, on standardised inputs as self-normalization needs. ECE:
    15 equal-width confidence bins (Guo et al. 2017). `--full` is the chapter's code under the Keras
    convention: handson-ml3 11_training_deep_neural_networks.ipynb cells 170-171 (the net above, its
    softmax layer Glorot-uniform, `SGD(learning_rate=0.01, momentum=0.9)` in Keras's form, `fit(epochs=10)`)
    and cells 178-182 (MC Dropout over the test set), on all 55,000 images; `selu_alpha` goes beyond the
    chapter's code. Not matched: the code validates on the last 5,000 images, deepfit on the first 5,000."""
    claims = []
    for variant in ("dropout_0.2", "selu_alpha"):
        claims += [
            improves(f"{variant}: MC Dropout ({MOST} passes) lowers the test NLL", variant, f"mc{MOST}_test_nll",
                     over="test_nll"),
            improves(f"{variant}: MC Dropout ({MOST} passes) lowers the calibration error", variant,
                     f"mc{MOST}_test_ece", over="test_ece"),
            improves(f"{variant}: MC Dropout ({MOST} passes) raises test accuracy", variant, f"mc{MOST}_test_acc",
                     over="test_acc", chapter="about +0.2 points (one run)" if variant == "dropout_0.2" else None),
        ]
    return Study(
        name="mc_dropout",
        claim=(mc_dropout.__doc__ or "").strip(),
        base={
            "model": {"hidden": [100, 100], "activation": "relu", "init": "he_normal", "input_dropout": 0.2,
                      "dropout": 0.2},
            "optimizer": {"name": "momentum", "lr": 0.01, "momentum": 0.9},
            "data": {"standardize": False},
            "train": {"batch_size": 32, "epochs": 10, "early_stopping": False},
        },
        variants={
            "dropout_0.2": {},
            "selu_alpha": {"model": {"activation": "selu", "init": "lecun_normal", "input_dropout": 0.1,
                                     "dropout": 0.1, "dropout_kind": "alpha"}, "data": {"standardize": True}},
        },
        seeds=3,
        reduced={"data": {"subset": 5000}, "train": {"epochs": 5}},
        full=KERAS,
        evaluate=mc_by_samples,
        metrics=("test_nll", "test_ece", f"mc{MOST}_test_acc", f"mc{MOST}_test_nll", f"mc{MOST}_test_ece"),
        report=plot_by_samples,
        claims=tuple(claims),
    )
