"""Each split through the trained network once at the end of a run, its outputs kept: the final loss and
accuracy, the test confusion matrix, the predicted classes of the misclassified grid and the test
probabilities (calibration) are all derived from that one pass instead of pushing the split through again.

MC Dropout is not derived here: its passes are stochastic, with dropout on (`Trainer.predict(mc_samples=)`).
"""

from __future__ import annotations

import torch

from deepfit.data import Splits
from deepfit.train import Trainer

Tensor = torch.Tensor
SPLITS = ("train", "valid", "test")


class FinalPass:
    """The trained members' outputs on each split of `splits`, computed on first use and then kept.

    It is made once `fit` has ended: the weights must not change while it is in use. `batch_size` defaults
    to the trainer's evaluation batch size; the outputs stay on the trainer's device, (K, n, outputs) per
    split, which for classification is n * K * classes floats (2.2 MB for 55,000 samples, 10 classes, K = 1).
    """

    def __init__(self, trainer: Trainer, splits: Splits, batch_size: int | None = None) -> None:
        self.trainer, self.splits = trainer, splits
        self.batch_size = batch_size
        self._outputs: dict[str, Tensor | None] = {}

    def outputs(self, split: str) -> Tensor | None:
        """(K, n, outputs): every member's raw outputs on `split` in evaluation mode, on the device; None
        when the split is absent or empty."""
        if split not in self._outputs:
            data = getattr(self.splits, split)
            self._outputs[split] = None if data is None or not len(data) else self._pass(data.x)
        return self._outputs[split]

    @torch.no_grad()
    def _pass(self, x: Tensor) -> Tensor:
        group, device, bs = self.trainer.group, self.trainer.device, self.batch_size or self.trainer.eval_batch(x)
        return torch.cat([group.outputs(x[s : s + bs].to(device)) for s in range(0, len(x), bs)], dim=1)

    def scores(self, split: str) -> list[dict[str, float]] | None:
        """Per member: the mean loss (and accuracy for classification) on `split`, as `Trainer.evaluate` gives
        them; None when the split is absent or empty."""
        out = self.outputs(split)
        if out is None:
            return None
        objective, k = self.trainer.objective, out.shape[0]
        y = getattr(self.splits, split).y.to(out.device)
        flat_out, flat_y = out.flatten(0, 1), y.repeat(k, *[1] * (y.dim() - 1))  # member-major
        n = len(y)
        loss = (objective.loss(flat_out, flat_y).view(k, -1).double().sum(1) / n).tolist()
        if objective.hits is None:
            return [{"loss": v} for v in loss]
        acc = (objective.hits(flat_out, flat_y).view(k, -1).double().sum(1) / n).tolist()
        return [{"loss": v, "acc": a} for v, a in zip(loss, acc, strict=True)]

    def probabilities(self, split: str) -> Tensor | None:
        """(K, n, ...): every member's probabilities (softmax/sigmoid) or regression outputs on `split`, on the
        CPU, as `Trainer.predict` gives them for K members."""
        out = self.outputs(split)
        if out is None:
            return None
        probs = self.trainer.objective.output(out.flatten(0, 1))
        return probs.view(out.shape[0], -1, *probs.shape[1:]).cpu()

    def classes(self, split: str = "test") -> Tensor | None:
        """(K, n): each member's predicted class of every sample of `split`, on the CPU; None without
        classes (regression) or without samples."""
        if not self.splits.num_classes or self.trainer.objective.hits is None:
            return None
        probs = self.probabilities(split)  # (K, n, classes), or (K, n) for a binary task's one output
        if probs is None:
            return None
        return probs.argmax(2) if probs.dim() == 3 else (probs > 0.5).long()

    def losses(self, split: str = "test") -> Tensor | None:
        """(K, n): each member's loss of every sample of `split`, -log p(true class) (the sample's
        cross-entropy), on the CPU in float64; None without classes or samples. The misclassified grid
        ranks mistakes by it (fastai's top losses)."""
        if not self.splits.num_classes or self.trainer.objective.hits is None:
            return None
        probs = self.probabilities(split)  # (K, n, classes), or (K, n) for a binary task's one output
        if probs is None:
            return None
        y = getattr(self.splits, split).y.cpu().long()  # (n,)
        if probs.dim() == 3:
            p_true = probs.gather(2, y.expand(probs.shape[0], -1).unsqueeze(2)).squeeze(2)  # (K, n)
        else:
            p = probs.reshape(probs.shape[0], -1)  # (K, n): p(class 1)
            p_true = torch.where(y == 1, p, 1 - p)
        return -torch.log(p_true.double().clamp_min(1e-300))

    def confusion(self, split: str = "test") -> Tensor | None:
        """(K, classes, classes): rows are true classes, columns predicted classes, on `split`."""
        pred = self.classes(split)
        if pred is None:
            return None
        k = self.splits.num_classes
        y = getattr(self.splits, split).y.cpu().long()
        return torch.stack([torch.bincount(y * k + p, minlength=k * k).reshape(k, k) for p in pred])
