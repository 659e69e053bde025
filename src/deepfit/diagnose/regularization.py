"""The doctor's rules on too much regularisation: a dropout rate that keeps fewer units than it drops, and a
weight penalty that outweighs the data's loss. A regularised net that underfits learns less well than an
unregularised one without any symptom of the gradient or the learning rate, so these rules read the run's
settings (the context's `dropout` and `penalty`, diagnose/doctor.py's `run_context`).

Each confirms the setting by its cost on the record: dropout's in the training accuracy (measured with
dropout on) far below validation, the penalty's in weights shrunk far below the initialisation's scale.
"""

from __future__ import annotations

import math
from typing import Any

from deepfit.diagnose.rules import RULES, Context, Finding, Record, exploding_gradients, lr_too_high

DROPOUT_RATE_HIGH = 0.5
"""A hidden dropout rate above one half drops more units than it keeps. UMLAUT (Schoop et al., CHI 2021)
warns of rates of a half or more; Srivastava et al. (2014, JMLR 15, §7.3 and fig. 9a) find training and
test error both rising once fewer than 40% of the units are kept: the net underfits. Hinton's 0.5 is the
usual upper end for hidden layers (Géron ch. 11: 10-50%), so only rates above it are read."""
DROPOUT_COST = 0.1
"""... and at the last epoch the training accuracy (measured with dropout on) 10 points or more below the
validation accuracy (dropout off): the dropped units cost the fit that much. On a 300-step doctor run of
benchmarks/doctor_cases.py the healthy controls end with training 0.02-0.13 above validation (the
`guidelines` preset, dropout 0.2: +0.02), dropout 0.8 with training 0.28-0.29 below it."""
PENALTY_SHRINK = 30.0
"""An l2 penalty whose weights hold, at the last probe, less than 1/30 of their squared norm at the first
(the init's scale): the penalty's gradient `2 * l2 * W` has pulled them to where the signal fades layer by
layer (Goodfellow et al. 2016, §7.1.1: weight decay shrinks the weights; Glorot & Bengio 2010: the init's
variance is the one that carries the signal). Measured on 300-step doctor runs of Fashion-MNIST: the
`reference` net with l2 1e-3 keeps 0.8 of it, with Keras's default l2 1e-2 about 1/9 (and learns as well),
TheDeepChecker's over-regularised l2 0.1 about 1/200 (validation 0.71-0.76 against the controls' 0.82)."""
DROPOUT_REMEDY = 0.2
"""The rate the remedy sets: the middle of the 20-30% Géron (ch. 11) gives for a dense net."""


def _last_epoch(record: Record) -> dict[str, Any] | None:
    rows = [r for r in record.get("epochs") or []
            if math.isfinite(r.get("acc", math.nan)) and math.isfinite(r.get("val_acc", math.nan))]
    return rows[-1] if rows else None


@RULES.register("too_much_dropout", summary="a dropout rate above one half whose cost shows in training accuracy")
def too_much_dropout(record: Record, ctx: Context) -> Finding | None:
    """UMLAUT's high-dropout heuristic, confirmed on the record: a hidden rate above `DROPOUT_RATE_HIGH`
    and the last epoch's training accuracy `DROPOUT_COST` or more below validation."""
    rate, last = float(ctx.get("dropout") or 0.0), _last_epoch(record)
    if rate <= DROPOUT_RATE_HIGH or last is None:
        return None
    cost = last["val_acc"] - last["acc"]
    if cost < DROPOUT_COST:
        return None
    return Finding(
        "too_much_dropout", "warning",
        f"dropout {rate:g} keeps fewer units than it drops: with dropout on the net reaches {last['acc']:.3g} on "
        f"its training data, {cost:.2f} below the {last['val_acc']:.3g} it reaches without it; the net underfits",
        {"dropout": rate, "train_acc": float(f"{last['acc']:.3g}"), "val_acc": float(f"{last['val_acc']:.3g}"),
         "threshold": DROPOUT_RATE_HIGH, "cost_threshold": DROPOUT_COST},
        [[f"model.dropout={DROPOUT_REMEDY}"], ["model.dropout=0"]], "docs/regularization.md",
        strength=cost / DROPOUT_COST,
    )


def _squared_norm(probe: Record) -> float:
    """The sum of the kernels' squared norms; NaN where one is not finite (a diverged run's weights)."""
    return sum(row.get("weight_norm", math.nan) ** 2 for row in probe["layers"])


@RULES.register("over_regularization", summary="an l2 penalty that shrank the weights far below the init's scale")
def over_regularization(record: Record, ctx: Context) -> Finding | None:
    """TheDeepChecker's over-regularisation mutant (Ben Braiek & Khomh, TOSEM 2022) read as its symptom:
    an l2 penalty, and kernels that kept less than 1/`PENALTY_SHRINK` of their initial squared norm."""
    l2 = float((ctx.get("penalty") or {}).get("l2", 0.0))
    probes = record.get("probes") or []
    if l2 <= 0 or len(probes) < 2:
        return None
    first, last = _squared_norm(probes[0]), _squared_norm(probes[-1])
    if not (math.isfinite(first) and math.isfinite(last) and first > 0) or last * PENALTY_SHRINK >= first:
        return None
    if lr_too_high(record, ctx) is not None or exploding_gradients(record, ctx) is not None:
        return None  # weights wrecked by steps too large (TheDeepChecker's SGD at lr 0.5): those rules' finding
    kept = last / first
    return Finding(
        "over_regularization", "warning",
        f"the l2 penalty {l2:g} shrank the weights to {kept:.2g} of their initial squared norm: they are held too "
        "small to carry the signal, and the net underfits",
        {"l2": l2, "squared_norm_first": float(f"{first:.3g}"), "squared_norm_last": float(f"{last:.3g}"),
         "kept": float(f"{kept:.3g}"), "threshold": 1 / PENALTY_SHRINK},
        [[f'regularization.penalty={{name="l2", l2={l2 / 100:.3g}}}'], ["regularization.penalty=none"]],
        "docs/regularization.md", strength=math.log10(first / max(last, 1e-30)) / math.log10(PENALTY_SHRINK),
    )
