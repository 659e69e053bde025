"""Summary statistics over seeds: mean, sample std and a Student-t 95% confidence interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

# Two-sided 95% critical values t_{0.975, df} for df = 1..30 (standard t table).
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]
_Z975 = 1.959964


CI_MEANING = (
    "mean ± std [±h] over n seeds: std is the sample standard deviation; h is the half-width of the 95% "
    "confidence interval of the mean, t(0.975, n - 1) · std / √n (Student t), so the interval is mean ± h. "
    "Without brackets: one seed, no interval."
)
"""What the brackets of a results table mean, said once under it (terminal and study.html)."""


def t_critical(df: int) -> float:
    """t_{0.975, df}: the table up to 30, then the Cornish-Fisher expansion (error < 1e-3)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, mean, sample standard deviation and the 95% CI half-width of the mean (NaN when n < 2)."""
    xs = [float(v) for v in values if not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": math.nan, "std": math.nan, "ci95": math.nan}
    mean = sum(xs) / n
    if n > 1 and max(xs) == min(xs):  # equal values (runs trained in one group share their epoch time)
        std = 0.0
    else:
        std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    ci = t_critical(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci95": ci}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float | bool]:
    """Mean of b - a over paired seeds, its 95% CI, and whether the CI excludes zero (a paired t-test)."""
    if len(a) != len(b):
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    s = summarize([y - x for x, y in zip(a, b, strict=True)])
    low, high = s["mean"] - s["ci95"], s["mean"] + s["ci95"]
    return {**s, "low": low, "high": high, "significant": bool(low > 0 or high < 0)}
