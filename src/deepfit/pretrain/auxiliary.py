"""Pretraining on an auxiliary task: a siamese "same class or not?" encoder (Géron, ch. 11).

The chapter's face-recognition example, scaled to Fashion-MNIST: pairs of images from plentiful labelled
classes teach a twin encoder f whether two images show the same class; its layers then initialise a
network for a task with few labels. Two objectives:

```
contrastive (Hadsell, Chopra & LeCun 2006), d = ||f(x1) - f(x2)||:
    L = y * d^2 / 2 + (1 - y) * max(0, margin - d)^2 / 2      y = 1 for a same-class pair
binary: p(same) = sigmoid(w' |f(x1) - f(x2)| + b), binary cross-entropy
```
The contrastive loss is a max-margin cost: a matching pair must end up closer than a non-matching one
by the margin, or it costs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from deepfit.data import TensorData
from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec, build_model
from deepfit.train import Objective, Trainer, UpdateRule, objective_for

PAIR_LOSSES = ("contrastive", "binary")


class Siamese(nn.Module):
    """Twin encoder over pairs `x` of shape (batch, 2, *sample_shape); both halves share every weight.

    Returns the embedding distance d (batch, 1) for `contrastive`, or the same-class logit for `binary`.
    """

    def __init__(self, encoder: nn.Module, width: int, loss: str = "contrastive") -> None:
        super().__init__()
        if loss not in PAIR_LOSSES:
            raise ConfigError(f"siamese loss: expected one of {', '.join(PAIR_LOSSES)}, got {loss!r}")
        self.encoder, self.loss = encoder, loss
        self.head = nn.Linear(width, 1) if loss == "binary" else None

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        a, b = self.encoder(pairs[:, 0]), self.encoder(pairs[:, 1])  # (batch, width) each
        if self.head is not None:
            return self.head((a - b).abs())  # (batch, 1) logit of "same class"
        return (a - b).pow(2).sum(dim=1, keepdim=True).add(1e-12).sqrt()  # (batch, 1) distance


def contrastive_objective(margin: float = 1.0) -> Objective:
    """Hadsell et al.'s (2006) contrastive loss on distances; "correct" means d < margin / 2 iff same."""
    if not margin > 0:
        raise ConfigError(f"siamese margin must be > 0, got {margin}")

    def loss(d: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
        d = d.squeeze(1)
        return (same * d.pow(2) + (1 - same) * F.relu(margin - d).pow(2)) / 2  # (batch,)

    def hits(d: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
        return ((d.squeeze(1) < margin / 2) == (same > 0.5)).to(d.dtype)

    return Objective("contrastive", loss, lambda d: d.squeeze(1), hits)


def make_pairs(data: TensorData, pairs: int, seed: int = 0) -> TensorData:
    """`pairs` image pairs, half of the same class and half of different classes, drawn with `seed`.

    Returns x of shape (pairs, 2, *sample_shape) and float targets 1 (same) / 0 (different).

    Raises:
        DataError: fewer than two classes, or a class with a single image.
    """
    g = torch.Generator().manual_seed(seed)
    y = data.y.cpu().long()
    classes = y.unique()
    if len(classes) < 2:
        raise DataError(f"siamese pairs need at least 2 classes, the data has {len(classes)}")
    members = [torch.nonzero(y == c).squeeze(1) for c in classes]
    if min(len(m) for m in members) < 2:
        raise DataError("siamese pairs need at least 2 images of every class")
    n_same = pairs // 2
    first = torch.randint(len(y), (pairs,), generator=g)
    second = torch.empty(pairs, dtype=torch.long)
    position = {int(c): i for i, c in enumerate(classes)}
    for i in range(pairs):  # done once, before training: a Python loop is cheap here
        own = members[position[int(y[first[i]])]]
        if i < n_same:
            second[i] = own[torch.randint(len(own), (1,), generator=g)]
        else:
            other = members[
                (position[int(y[first[i]])] + 1 + int(torch.randint(len(classes) - 1, (1,), generator=g)))
                % len(classes)
            ]
            second[i] = other[torch.randint(len(other), (1,), generator=g)]
    x = torch.stack([data.x[first.to(data.x.device)], data.x[second.to(data.x.device)]], dim=1)
    same = (y[first] == y[second]).float()
    return TensorData(x, same.to(data.x.device))


def pretrain_siamese(
    spec: ModelSpec,
    train: TensorData,
    *,
    valid: TensorData | None = None,
    loss: str = "contrastive",
    margin: float = 1.0,
    pairs: int | None = None,
    rule: UpdateRule,
    epochs: int = 5,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> tuple[nn.Sequential, list[dict[str, float]]]:
    """The model of `spec` whose hidden layers are a siamese encoder trained on labelled pairs.

    `pairs` training pairs (default: as many as images) are drawn once; validation pairs likewise. The head
    of the returned model is untrained: `deepfit transfer` replaces it.
    """
    model = build_model(spec)
    encoder = nn.Sequential(*[m for name, m in model.named_children() if name != "output"])
    siamese = Siamese(encoder, spec.hidden[-1] if spec.hidden else spec.in_features, loss)
    objective = contrastive_objective(margin) if loss == "contrastive" else objective_for("auto", "binary")
    train_pairs = make_pairs(train, pairs or len(train), seed)
    valid_pairs = None if valid is None else make_pairs(valid, len(valid), seed + 1)
    trainer = Trainer(siamese, objective, rule, batch_size=batch_size, device=device, seed=seed)
    trainer.fit(train_pairs, valid_pairs, epochs=epochs, verbose=0)
    return model.cpu(), [{"layer": "all", **trainer.history.rows[-1]}]
