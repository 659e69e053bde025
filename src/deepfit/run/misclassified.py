"""The test samples a run got wrong, the most confident first, saved for its report: `misclassified.safetensors`
in the run directory.

Only image-shaped inputs ((H, W) or (C, H, W)) are saved, since a grid of tabular rows tells nothing at
a glance; the report draws the grid from this file alone (report/images.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from deepfit.atomic import atomic_path
from deepfit.data import Splits

FILE = "misclassified.safetensors"
LIMIT = 25  # a 5 x 5 grid


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """(H, W), or (C, H, W) with 1, 3 or 4 channels, each side at least 4 pixels."""
    if len(shape) == 3 and shape[0] in (1, 3, 4):
        shape = shape[1:]
    return len(shape) == 2 and min(shape) >= 4


def misclassified(
    predicted: torch.Tensor, splits: Splits, limit: int = LIMIT, losses: torch.Tensor | None = None
) -> dict[str, torch.Tensor] | None:
    """The `limit` wrong test predictions with the highest losses, the most confident mistakes (fastai's
    `top_losses`), or without `losses` the first ones: `x` on the data's own scale (standardisation undone),
    `true`, `predicted`, `index` (position in the test split) and, with `losses`, `loss`. None when the
    inputs are not images, there is no test split, or nothing is wrong.

    Args:
        predicted: (n,) one member's predicted class of every test sample (`FinalPass.classes`, run/predictions.py).
        losses: (n,) that member's loss of each test sample (`FinalPass.losses`).
    """
    if splits.test is None or not is_image_shape(splits.input_shape):
        return None
    y = splits.test.y.cpu().long()
    wrong = torch.nonzero(predicted.cpu() != y).flatten()  # (m,)
    if losses is not None:
        wrong = wrong[torch.argsort(losses.cpu()[wrong], descending=True, stable=True)]
    wrong = wrong[:limit]
    if not len(wrong):
        return None
    x = splits.test.x[wrong.to(splits.test.x.device)].cpu().float()  # (m, *input_shape)
    if splits.mean is not None:
        x = x * splits.std.cpu() + splits.mean.cpu()
    out = {"x": x.contiguous(), "true": y[wrong].contiguous(), "predicted": predicted.cpu()[wrong].contiguous(),
           "index": wrong.contiguous()}
    if losses is not None:
        out["loss"] = losses.cpu()[wrong].float().contiguous()
    return out


def save_misclassified(run_dir: Path, predicted: torch.Tensor, splits: Splits,
                       losses: torch.Tensor | None = None) -> Path | None:
    """Write `misclassified.safetensors` into `run_dir` (atomically) when there is something to show: the
    highest-loss mistakes when `losses` is given."""
    tensors = misclassified(predicted, splits, losses=losses)
    if tensors is None:
        return None
    path = run_dir / FILE
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))
    return path
