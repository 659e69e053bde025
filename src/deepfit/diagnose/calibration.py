"""How good predicted probabilities are, beyond accuracy: negative log-likelihood and calibration error."""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def negative_log_likelihood(probs: Tensor, y: Tensor) -> float:
    """Mean `-log p(y | x)` of the true classes; probabilities are clamped at 1e-12 so one 0 stays finite."""
    p = probs.gather(1, y.long().view(-1, 1)).squeeze(1)  # (n,)
    return float(-p.clamp_min(1e-12).log().mean())


def expected_calibration_error(probs: Tensor, y: Tensor, bins: int = 15) -> float:
    """ECE: how far confidence is from accuracy, averaged over equal-width confidence bins.

    ```
    ECE = sum_b (n_b / n) * |acc(b) - conf(b)|
    ```
    with the top-class probability as confidence (Guo et al. 2017, "On Calibration of Modern Neural
    Networks", whose 15 bins are the default).
    """
    conf, pred = probs.max(dim=1)  # (n,), (n,)
    hit = (pred == y.long()).double()
    which = (conf.double() * bins).ceil().clamp(1, bins).long() - 1  # bin b holds (b/bins, (b+1)/bins]
    count = torch.bincount(which, minlength=bins).double()
    acc = torch.bincount(which, weights=hit, minlength=bins)
    mean_conf = torch.bincount(which, weights=conf.double(), minlength=bins)
    return float((acc - mean_conf).abs().sum() / count.sum())
