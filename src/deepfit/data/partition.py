"""Which rows of a training file become the test, validation and training splits.

Three methods (`data.split`): `stratified` draws each held-out split shuffled with the run's seed and with the
class proportions of the whole (scikit-learn's `train_test_split(..., stratify=y)`), `random` draws it shuffled
without regard to the labels (regression's default), and `first` takes the first rows as validation and the
last as test, as Géron does for Fashion-MNIST (ch. 10, `X_valid = X_train_full[:5000]`). A file sorted by label
split by `first` gives a validation split of one class; the default is therefore `stratified`, and `first` is
kept for the datasets that have that split of their own (Fashion-MNIST and its A/B tasks).
"""

from __future__ import annotations

import warnings

import numpy as np

from deepfit.errors import ConfigError

METHODS = ("stratified", "random", "first")
AUTO_FRACTION = 0.1  # an automatic data.valid or data.test: 10% of the file, as Keras users pass validation_split


def resolve_method(split: str | None, *, task: str, own_split: bool, valid: int | float | None) -> str:
    """The `data.split` method to use: `split` when given, else `first` for a dataset with its own split (unless
    `data.valid` is a fraction, which is drawn), else `stratified` for classes and `random` for regression.

    Raises:
        ConfigError: an unknown method, or `stratified` for a regression task (it has no classes).
    """
    if split is None:
        if own_split and not isinstance(valid, float):
            return "first"
        return "random" if task == "regression" else "stratified"
    if split not in METHODS:
        raise ConfigError(f"data.split: expected one of {', '.join(METHODS)}, got {split!r}")
    if split == "stratified" and task == "regression":
        raise ConfigError("data.split: 'stratified' needs class labels, but data.task is 'regression'; "
                          "expected 'random' or 'first'")
    return split


def draws_with_seed(split: str | None, valid: int | float | None, *, own_split: bool) -> bool:
    """Whether the rows of each split depend on the run's seed: true unless the method (`resolve_method`'s
    choice for `split`, `valid` and a dataset with a split of its own, `own_split`) is `first`. Runs whose
    splits do not can train as members of one group over seeds (`run.sweep.group_key`)."""
    if split is None:
        return not (own_split and not isinstance(valid, float))
    return split != "first"


def auto_count(n: int, left: int, classes: int, *, what: str) -> tuple[int, str]:
    """(count, why) of an automatic held-out split of `what` from the `left` rows still undivided of a file of
    `n`: `AUTO_FRACTION` of `n`, and at least one sample per class (`classes`, 0 for regression) where the rows
    left for training still hold `classes` samples; none when the data is too small."""
    count = max(round(AUTO_FRACTION * n), classes)
    if count >= 1 and left - count >= max(classes, 1) * 2:
        return count, f"{AUTO_FRACTION:.0%} of the {n} samples"
    return 0, f"{left} samples are too few to hold out a {what} split"


def holdout_count(setting: int | float, available: int, *, field: str) -> int:
    """The number of rows `setting` (a count, or a fraction of `available`) holds out of `available`.

    Raises:
        ConfigError: not a count in [0, available - 1] or a fraction giving between 1 and available - 1 rows
            (the message names `field`).
    """
    if isinstance(setting, bool) or not isinstance(setting, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{field}: expected a sample count or a fraction in (0, 1), got {setting!r}")
    if isinstance(setting, (int, np.integer)):
        if not 0 <= setting < available:
            raise ConfigError(f"{field}: expected a count in [0, {available - 1}] (the training set has "
                              f"{available} samples), got {setting}")
        return int(setting)
    if not 0.0 < setting < 1.0:
        raise ConfigError(f"{field}: expected a fraction in (0, 1) or a sample count, got {setting}")
    count = round(setting * available)
    if not 0 < count < available:
        raise ConfigError(f"{field}: fraction {setting} of {available} samples gives {count} samples, expected "
                          f"between 1 and {available - 1}")
    return count


def draw(
    rows: np.ndarray, labels: np.ndarray | None, count: int, method: str, seed: int, *, last: bool = False,
    what: str = "validation",
) -> tuple[np.ndarray, np.ndarray]:
    """(rows kept, `count` rows held out) of `rows` (indices into `labels`), each in file order.

    `first` holds out the first `count` rows (the last, with `last`); `random` and `stratified` draw them with
    scikit-learn's `train_test_split` seeded by `seed`, so the same seed gives the same rows bit for bit.
    Stratifying needs at least as many rows as classes on each side and two samples of every class; when the
    labels do not allow it the rows are drawn at random, with a warning when a class is too rare.
    """
    if count == 0:
        return rows, rows[:0]
    if method == "first":
        return (rows[:-count], rows[-count:]) if last else (rows[count:], rows[:count])
    from sklearn.model_selection import train_test_split  # imported here: it takes a second to import

    stratify = labels[rows] if method == "stratified" and labels is not None else None
    if stratify is not None:
        values, sizes = np.unique(stratify, return_counts=True)
        if min(count, len(rows) - count) < len(values):
            stratify = None  # a split smaller than the class count cannot hold every class
        elif sizes.min() < 2:
            rare = ", ".join(f"{v:g}" for v in values[sizes < 2][:5])
            warnings.warn(f"data.split: the {what} split is drawn at random, not stratified: class(es) {rare} have "
                          "a single sample", UserWarning, stacklevel=3)
            stratify = None
    kept, held = train_test_split(rows, test_size=count, random_state=seed, shuffle=True, stratify=stratify)
    return np.sort(kept), np.sort(held)


def draw_subset(
    rows: np.ndarray, labels: np.ndarray | None, subset: int | None, method: str, seed: int
) -> np.ndarray:
    """`subset` of the training `rows`: the first for `first` (the chapter's `data.subset`), else drawn as the
    held-out splits are, so a subset of a file sorted by label still holds every class.

    Raises:
        ConfigError: `subset` is not a count in [1, len(rows)].
    """
    if subset is None:
        return rows
    if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)) or not 1 <= subset <= len(rows):
        raise ConfigError(f"data.subset: expected a count in [1, {len(rows)}] (training samples left after the "
                          f"validation split), got {subset!r}")
    if method == "first" or subset == len(rows):
        return rows[:subset]
    return draw(rows, labels, int(subset), method, seed, what="subset")[1]


def selection(rows: np.ndarray) -> slice | np.ndarray:
    """`rows` as a slice when they are consecutive (indexing then gives a view, not a copy), else as they are."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (len(rows) < 2 or (np.diff(rows) == 1).all()):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def sub_seed(seed: int, purpose: int) -> int:
    """A seed for one draw of the run (0: test, 1: validation, 2: subset) derived from the run's `seed`, so the
    draws differ from each other and from those of the neighbouring seeds."""
    return int(np.random.SeedSequence([seed % 2**63, purpose]).generate_state(1)[0] >> 1)
