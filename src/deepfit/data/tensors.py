"""The in-memory form every dataset takes once loaded: `TensorData(x, y)` and the `Splits` that hold them.

Loading, splitting and standardising live elsewhere (`sources`, `splits`); these are plain containers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from deepfit.errors import ShapeError


@dataclass
class TensorData:
    """Samples `x` of shape (n, *sample_shape) and their targets `y` of shape (n,).

    `y` is int64 class labels for multiclass tasks, float32 0/1 for binary tasks and float32 values for
    regression.
    """

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.ndim < 1 or self.y.ndim < 1 or self.x.shape[0] != self.y.shape[0]:
            raise ShapeError(
                f"TensorData: x and y must hold the same number of samples, "
                f"got x with {_rows(self.x)} and y with {_rows(self.y)}"
            )

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> TensorData:
        """A copy on `device` (the same object's tensors when they are already there)."""
        return TensorData(self.x.to(device), self.y.to(device))

    def take(self, index: torch.Tensor | slice) -> TensorData:
        """The rows selected by `index` (a slice, integer indices or a boolean mask)."""
        return TensorData(self.x[index], self.y[index])

    def __repr__(self) -> str:
        """Shapes, dtypes and device, not the values (a dataset prints in one line)."""
        return (f"TensorData({len(self)} samples, x {tuple(self.x.shape)} {_dtype(self.x)}, "
                f"y {tuple(self.y.shape)} {_dtype(self.y)}, {self.x.device})")


@dataclass(frozen=True)
class ValidSplit:
    """How the data was divided: the `data.split` method, the `data.valid` setting used (a count or a fraction)
    and, when it was chosen automatically, why; the same for a test split drawn from the training file
    (`test_setting` None: the data's own test part, or none); class counts per split. So a run can say what it
    chose, record it in its config and report, and a resume repeat it."""

    setting: int | float
    samples: int
    auto: str | None = None  # why an automatic data.valid chose `setting`; None: the user set it
    seed: int | None = None  # the seed of a drawn (random or stratified) split
    method: str = "first"  # data.split: stratified, random or first
    test_setting: int | None = None  # rows drawn from the training file as the test split; None: not drawn
    test_samples: int = 0
    test_auto: str | None = None  # why an automatic data.test chose `test_setting`
    train_samples: int | None = None
    class_counts: dict[str, list[int]] | None = None  # split -> samples per class (classification only)
    notes: tuple[str, ...] = ()  # what else the data layer did, e.g. labels renumbered

    def describe(self) -> str:
        """One line for the run's output (then one per note), e.g. `split: stratified by class with seed 0:
        train 240, validation 30 (data.valid = 30, chosen automatically: 10% of the 300 samples), test 30 (...)`."""
        how = {"stratified": f"stratified by class with seed {self.seed}",
               "random": f"drawn at random with seed {self.seed}",
               "first": "the first rows of the file as validation"
               + (", the last as test" if self.test_setting else "")}[self.method]
        parts = [] if self.train_samples is None else [f"train {self.train_samples}"]
        chosen = f", chosen automatically: {self.auto}" if self.auto else ""
        parts.append(f"validation {self.samples} (data.valid = {self.setting}{chosen})" if self.samples
                     else f"no validation (data.valid = {self.setting}{chosen})")
        if self.test_setting is not None:
            chosen = f", chosen automatically: {self.test_auto}" if self.test_auto else ""
            size = f"test {self.test_samples}" if self.test_samples else "no test"
            parts.append(f"{size} (data.test = {self.test_setting}{chosen})")
        elif self.test_samples:
            parts.append(f"test {self.test_samples} (the data's own test part)")
        return "\n".join([f"split: {how}: {', '.join(parts)}", *self.notes])

    def record(self) -> dict[str, Any]:
        """The split as metrics.json and the report keep it."""
        out: dict[str, Any] = {"method": self.method, "seed": self.seed, "data.valid": self.setting,
                               "samples": self.samples, "chosen": self.auto or "by the user"}
        if self.test_setting is not None:
            out["test"] = {"data.test": self.test_setting, "samples": self.test_samples,
                           "chosen": self.test_auto or "by the user"}
        if self.class_counts is not None:
            out["class_counts"] = self.class_counts
        return out


@dataclass
class Splits:
    """Train, validation and test data with what the model and report need to know about them.

    `mean` and `std` are the per-feature standardisation statistics (shape `input_shape`) fitted on the
    training split only; both are None when the data was not standardised. `num_classes` is None for
    regression. `valid_split` says how the validation split was chosen (None for splits built by hand).
    `input_dtype` is the dtype the inputs had in their file before they became float32 ("uint8": pixels,
    divided by 255), so that an exported model can take them as they come; None when unknown.
    """

    train: TensorData
    valid: TensorData | None
    test: TensorData | None
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    num_classes: int | None
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    valid_split: ValidSplit | None = None
    input_dtype: str | None = None
    label_values: list[int | float] | None = None  # the original label of each class, when they were renumbered

    def __post_init__(self) -> None:
        self.input_shape = tuple(self.input_shape)
        for name in ("train", "valid", "test"):
            part = getattr(self, name)
            if part is not None and tuple(part.x.shape[1:]) != self.input_shape:
                raise ShapeError(
                    f"Splits: {name} samples have shape {tuple(part.x.shape[1:])}, "
                    f"expected input_shape {self.input_shape}"
                )

    def to(self, device: torch.device | str) -> Splits:
        """A copy with every tensor on `device`."""
        return replace(
            self,
            train=self.train.to(device),
            valid=None if self.valid is None else self.valid.to(device),
            test=None if self.test is None else self.test.to(device),
            mean=None if self.mean is None else self.mean.to(device),
            std=None if self.std is None else self.std.to(device),
        )


    def __repr__(self) -> str:
        """One line per split (samples, shapes, dtypes, class counts) under one line of what the data is."""
        facts = [f"input_shape={self.input_shape}", f"num_classes={self.num_classes}",
                 "standardized" if self.mean is not None else "not standardized"]
        if self.input_dtype is not None:
            facts.append("uint8 pixels / 255" if self.input_dtype == "uint8" else f"{self.input_dtype} inputs")
        lines = [f"Splits({', '.join(facts)}"]
        for name in ("train", "valid", "test"):
            part = getattr(self, name)
            if part is not None:
                lines.append(f"  {name}: {part!r}{_class_counts(part, self.num_classes)}")
        return "\n".join(lines) + ")"


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _class_counts(part: TensorData, num_classes: int | None) -> str:
    """`, per class [210, 215, 205]` for integer labels (one bincount), else nothing."""
    if not num_classes or part.y.dtype != torch.int64 or not len(part):
        return ""
    counts = torch.bincount(part.y.reshape(-1).cpu(), minlength=num_classes).tolist()
    return f", per class {counts}"


def _rows(t: torch.Tensor) -> str:
    return "no sample axis" if t.ndim == 0 else f"{t.shape[0]} samples"
