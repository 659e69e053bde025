"""The doctor's rules on the weights themselves: a layer whose units are identical (a constant or symmetric
initialisation) and weights whose initial variance is far from the one their activation needs. Each reads
the probe record (diagnose/stats.py: `unit_spread`, `weight_norm`, the layers' fans) as diagnose/rules.py's do.
"""

from __future__ import annotations

import math

from deepfit.diagnose.rules import RULES, Context, Finding, Record
from deepfit.nn.init import auto_initializer

UNIFORM_SPREAD = 0.01
"""A hidden layer whose units' incoming weight rows lie within 1% of the kernel's norm of their mean row
(diagnose/stats.py `unit_spread`; independent random rows give about 1): its units compute nearly the same
function and get nearly the same gradient, so training cannot tell them apart. Random initialisation exists
to break that symmetry (Goodfellow, Bengio & Courville 2016, Deep Learning, §8.4)."""
SCALE_FACTOR = 10.0
"""A layer's initial weight variance more than 10 times above or below the variance the initializer that
suits its activation targets (He 2 / fan_in for the ReLU family, Glorot 2 / (fan_in + fan_out) for
sigmoid, tanh and linear, LeCun 1 / fan_in for SELU: Géron ch. 11, table 11-1). Those targets keep the
signal's variance from one layer to the next (Glorot & Bengio 2010; He et al. 2015); a factor of 10 in
variance scales the signal by about 3 per layer, where the suited initializers' own spread (uniform vs
normal, fan_in vs fan_avg) stays within a factor of 2."""


def _hidden(record: Record) -> list[int]:
    return list(range(len(record["layers"]) - 1))


def _spreads(probe: Record) -> list[float]:
    return [row.get("unit_spread", math.nan) for row in probe["layers"]]


@RULES.register("weights_too_uniform", summary="a layer's units identical: a constant or symmetric init")
def weights_too_uniform(record: Record, ctx: Context) -> Finding | None:
    """A hidden layer whose units' weight rows are (nearly) identical at the first or the last probe."""
    first, last = record["probes"][0], record["probes"][-1]
    start, end = _spreads(first), _spreads(last)
    bad = [i for i in _hidden(record) if any(math.isfinite(s[i]) and s[i] < UNIFORM_SPREAD for s in (start, end))]
    if not bad:
        return None
    still = [i for i in bad if math.isfinite(end[i]) and end[i] < UNIFORM_SPREAD]
    init = auto_initializer(str(ctx.get("activation") or "relu"))
    names = [record["layers"][i] for i in bad]
    what = ("still identical after training: they compute one function, so the layer is as good as a single unit"
            if still else "identical at initialisation: only rounding told them apart, which wastes steps")
    return Finding(  # an error while the units stay identical; a warning once rounding has told them apart
        "weights_too_uniform", "error" if still else "warning",
        f"the units of {', '.join(names)} are {what} (a constant or symmetric initialisation)",
        {"unit_spread_at_first_probe": [float(f"{v:.3g}") for v in start],
         "unit_spread_at_last_probe": [float(f"{v:.3g}") for v in end], "threshold": UNIFORM_SPREAD},
        [[f"model.init={init}"]], "docs/initializers.md", layers=names, steps=[first["step"], last["step"]],
        strength=UNIFORM_SPREAD / max(min(min(start[i], end[i]) for i in bad), 1e-6),
    )


def target_variance(init: str, fan_in: int, fan_out: int) -> float:
    """The weight variance an initializer family targets: He 2 / fan_in, LeCun 1 / fan_in, Glorot
    2 / (fan_in + fan_out) (the Keras definitions, nn/init.py)."""
    family = init.split("_")[0]
    if family == "he":
        return 2.0 / fan_in
    if family == "lecun":
        return 1.0 / fan_in
    return 2.0 / (fan_in + fan_out)


def _variances(record: Record) -> list[float]:
    """Each layer's mean squared weight at the first probe: ||W||^2 / (fan_in * fan_out)."""
    rows = record["probes"][0]["layers"]
    return [row.get("weight_norm", math.nan) ** 2 / (fan_in * fan_out)
            for row, (fan_in, fan_out) in zip(rows, record.get("fans") or [], strict=False)]


@RULES.register("poor_weight_scale", summary="initial weight variance far from the activation's init target")
def poor_weight_scale(record: Record, ctx: Context) -> Finding | None:
    """The first probe's weight variance of each layer against the target of the initializer that suits
    the layer's activation (the output layer's: Glorot's, Keras's default for a Dense layer)."""
    variances, fans = _variances(record), record.get("fans") or []
    if not variances:
        return None
    activation = str(ctx.get("activation") or "relu")
    suited = auto_initializer(activation)
    hidden = set(_hidden(record))
    batch_norm = ctx.get("norm") == "before"  # batch norm after the kernel: the layer's scale cancels out
    ratios, targets = [], []
    for i, (var, (fan_in, fan_out)) in enumerate(zip(variances, fans, strict=False)):
        target = target_variance(suited if i in hidden else "glorot_uniform", fan_in, fan_out)
        targets.append(target)
        ratios.append(var / target if not (batch_norm and i in hidden) else 1.0)
    bad = [i for i, r in enumerate(ratios) if math.isfinite(r) and not 1 / SCALE_FACTOR <= r <= SCALE_FACTOR]
    if not bad:
        return None
    worst = max(bad, key=lambda i: abs(math.log(max(ratios[i], 1e-30))))
    direction = "above" if ratios[worst] > 1 else "below"
    factor = ratios[worst] if ratios[worst] > 1 else 1 / max(ratios[worst], 1e-30)
    names = [record["layers"][i] for i in bad]
    return Finding(
        "poor_weight_scale", "warning",
        f"the initial weights of {record['layers'][worst]} have variance {variances[worst]:.2g}, {factor:.3g} times "
        f"{direction} the {targets[worst]:.2g} that {suited if worst in hidden else 'glorot_uniform'} gives for its "
        "fan-in and fan-out",
        {"variance_by_layer": [float(f"{v:.3g}") for v in variances],
         "target_by_layer": [float(f"{t:.3g}") for t in targets], "threshold": SCALE_FACTOR},
        [[f"model.init={suited}"]], "docs/initializers.md", layers=names,
        strength=math.log10(factor) / math.log10(SCALE_FACTOR),
    )
