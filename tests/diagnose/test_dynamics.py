"""The curve and batch-size rules on synthetic probe records: each fires past its threshold and stays quiet
short of it."""

from __future__ import annotations

import math

import pytest
import torch

from deepfit.config import load_config
from deepfit.data import from_arrays
from deepfit.diagnose import RULES
from deepfit.diagnose import dynamics as D
from deepfit.diagnose.doctor import run_context


def _record(accs, epochs=(), losses=None):
    losses = losses or [2.3 / (i + 1) for i in range(len(accs))]  # a loss that falls to a tenth or less
    probes = [{"step": 10 * i, "epoch": 1, "lr": 0.01, "steps_since": 10, "loss": loss, "acc": a,
               "input_mean": 0.0, "input_std": 1.0, "layers": [{}, {}]} for i, (a, loss) in enumerate(zip(accs, losses,
                                                                                                  strict=True))]
    return {"layers": ["hidden1", "output"], "activations": ["ReLU", None], "fans": [[4, 3], [3, 2]],
            "probes": probes, "epochs": list(epochs)}


def _zigzag(amplitude, swings, n=20):
    """A rising curve of `n` probes whose last `2 * swings` alternate by `amplitude`."""
    accs = [0.1 + 0.04 * i for i in range(n)]
    for i in range(n - 2 * swings, n):
        accs[i] = 0.8 + (amplitude if i % 2 else 0.0)
    return accs


def test_swings_pair_the_ith_maximum_with_the_ith_minimum():
    assert D.swings([0.1, 0.5, 0.2, 0.6, 0.3, 0.4]) == pytest.approx([0.3, 0.3])
    assert D.swings([0.1, 0.2, 0.3, 0.4]) == []  # a monotone climb has no swing


@pytest.mark.parametrize(("amplitude", "swings", "fires"), [
    (0.06, 4, True),    # 4 swings of 6 points in the 14 judged probes: 4 >= 0.2 * 14
    (0.04, 4, False),   # swings below 5 points
    (0.06, 2, False),   # too few swings: 2 < 0.2 * 14
])
def test_oscillating_accuracy_counts_swings_of_five_points_in_a_fifth_of_the_probes(amplitude, swings, fires):
    record = _record(_zigzag(amplitude, swings))
    assert (RULES.build("oscillating_accuracy", record, {"lr": 0.1}) is not None) is fires


@pytest.mark.parametrize(("amplitude", "level", "fires"), [
    (0.10, 0.2, False),  # 10 points at accuracy 0.2 on 128 samples: under 3 standard errors (15 points)
    (0.20, 0.2, True),
    (0.10, 0.8, False),  # 3 standard errors at 0.85 on 128 samples: 13 points
    (0.25, 0.6, True),
])
def test_oscillating_accuracy_asks_for_swings_beyond_the_probe_batchs_noise(amplitude, level, fires):
    accs = [level + (amplitude if i % 2 else 0.0) for i in range(20)]
    record = _record(accs)
    for probe in record["probes"]:
        probe["samples"] = 128
    assert (RULES.build("oscillating_accuracy", record, {"lr": 0.1}) is not None) is fires


def test_oscillating_accuracy_ignores_the_first_thirty_percent_and_prescribes_adam_lr_and_batch():
    early = [0.1, 0.5, 0.1, 0.5, 0.1, 0.5] + [0.8 + 0.001 * i for i in range(14)]  # swings only early on
    assert RULES.build("oscillating_accuracy", _record(early), {}) is None
    finding = RULES.build("oscillating_accuracy", _record(_zigzag(0.1, 5)),
                          {"lr": 0.1, "optimizer": "sgd", "batch_size": 16})
    assert finding.remedies == [["optimizer.name=adam", "optimizer.lr=0.001"], ["optimizer.lr=0.01"],
                                ["train.batch_size=64"]]
    assert RULES.build("oscillating_accuracy", _record([math.nan] * 20), {}) is None  # no accuracy (regression)


def _epochs(train, valid):
    pairs = zip(train, valid, strict=True)
    return [{"epoch": i + 1, "loss": 1.0, "acc": a, "val_acc": v} for i, (a, v) in enumerate(pairs)]


@pytest.mark.parametrize(("gain", "fires"), [(0.008, True), (0.012, False)])
def test_slow_convergence_fires_when_no_epoch_gains_a_point(gain, fires):
    train = [0.1 + gain * (i + 1) for i in range(4)]
    record = _record([0.1] * 5, _epochs(train, train))
    finding = RULES.build("slow_convergence", record, {"lr": 1e-4, "optimizer": "sgd"})
    assert (finding is not None) is fires
    if fires:
        assert finding.remedies == [["optimizer.name=adam", "optimizer.lr=0.001"], ["optimizer.lr=0.001"]]


def test_slow_convergence_counts_the_gain_of_the_first_epoch_and_needs_three_epochs():
    fast_then_flat = _epochs([0.8, 0.805, 0.81, 0.812], [0.8, 0.8, 0.8, 0.8])  # from 0.1 at step 0: 0.7 gained
    assert RULES.build("slow_convergence", _record([0.1] * 5, fast_then_flat), {}) is None
    flat = _epochs([0.1, 0.1], [0.1, 0.1])
    assert RULES.build("slow_convergence", _record([0.1] * 5, flat), {}) is None


@pytest.mark.parametrize(("last", "fires"), [(1.3, True), (1.1, False), (2.5, False)])
def test_slow_convergence_fires_when_the_run_leaves_more_than_half_the_untrained_loss(last, fires):
    epochs = _epochs([0.3, 0.5, 0.7, 0.8], [0.3, 0.5, 0.7, 0.8])  # accuracy gaining well: only the loss can tell
    record = _record([0.1] * 5, epochs, losses=[2.3, 2.0, 1.8, 1.5, last])  # 2.5: the loss rose, not slow
    finding = RULES.build("slow_convergence", record, {"lr": 0.01})
    assert (finding is not None) is fires
    if fires:
        assert "57% of the untrained net's loss is left" in finding.summary


def _moving(record, ratio):
    for probe in record["probes"]:
        probe["layers"] = [{"update_ratio": ratio}, {"update_ratio": ratio}]
    return record


@pytest.mark.parametrize(("ratio", "last", "fires"), [
    (1.5e-4, 0.75, True),    # TheDeepChecker's SGD at lr 0.001: steps of 1.6e-4, 28-37% of the loss left
    (2.6e-4, 0.75, False),   # steps over a fifth of 1e-3: the learning rate is not the problem
    (1.5e-4, 0.46, False),   # small steps, but only a fifth of the loss left: the run got there
])
def test_slow_convergence_fires_on_small_steps_that_leave_a_quarter_of_the_loss(ratio, last, fires):
    epochs = _epochs([0.4, 0.6, 0.66, 0.69], [0.5, 0.62, 0.67, 0.69])  # gaining well, so only the steps can tell
    record = _moving(_record([0.1] * 5, epochs, losses=[2.3, 2.0, 1.5, 1.0, last]), ratio)
    finding = RULES.build("slow_convergence", record, {"lr": 0.001, "optimizer": "sgd"})
    assert (finding is not None) is fires
    if fires:
        assert "each step moving the weights by 0.00015 of their norm" in finding.summary
        assert finding.remedies[0] == ["optimizer.name=adam", "optimizer.lr=0.001"]


def test_slow_convergence_leaves_a_run_whose_steps_are_too_large_to_the_lr_rules():
    epochs = [{"epoch": 1, "loss": 2.0, "acc": 0.1, "val_acc": 0.1}, {"epoch": 2, "loss": 2.1, "acc": 0.1},
              {"epoch": 3, "loss": 2.0, "acc": 0.1, "val_acc": 0.1}]
    spiky = _record([0.1] * 5, epochs, losses=[2.3, 0.1, 2.2, 2.0, 2.0])  # a loss 22 times its lowest: a spike
    assert RULES.build("exploding_gradients", spiky, {}) is not None
    assert RULES.build("slow_convergence", spiky, {"lr": 5.0}) is None


def test_the_scaling_rule_is_linear_for_sgd_and_square_root_for_adam():
    assert D.scaled_lr("sgd", 256) == pytest.approx(0.1) and D.scaled_lr("sgd", 512) == pytest.approx(0.2)
    assert D.scaled_lr("adam", 32) == pytest.approx(1e-3) and D.scaled_lr("adam", 128) == pytest.approx(2e-3)


@pytest.mark.parametrize(("ctx", "fires"), [
    ({"optimizer": "sgd", "lr": 3.0, "batch_size": 10}, True),     # rule: 0.0039, 770 times less
    ({"optimizer": "sgd", "lr": 0.1, "batch_size": 16}, False),    # rule: 0.00625, 16 times less
    ({"optimizer": "sgd", "lr": 3.0, "batch_size": 32}, False),    # a batch of 32: the lr rules' business
    ({"optimizer": "adam", "lr": 0.01, "batch_size": 1}, True),    # rule: 1.8e-4, 57 times less
    ({"optimizer": "adam", "lr": 0.005, "batch_size": 1}, False),  # 28 times
    ({"optimizer": "sgd", "lr": 0.01, "batch_size": 4096}, True),  # rule: 1.6, 160 times more
    ({"optimizer": "sgd", "lr": 0.1, "batch_size": 4096}, False),  # 16 times
])
def test_batch_size_for_lr_fires_thirty_times_off_the_rule_at_extreme_batches(ctx, fires):
    assert (RULES.build("batch_size_for_lr", _record([0.1] * 3), ctx) is not None) is fires


def test_batch_size_for_lr_prescribes_the_rule_lr_first_for_small_batches_and_a_smaller_batch_for_large():
    small = RULES.build("batch_size_for_lr", _record([0.1] * 3), {"optimizer": "sgd", "lr": 0.1, "batch_size": 2})
    assert small.remedies == [["optimizer.lr=0.000781"], ["train.batch_size=256"]]
    too_high = RULES.build("batch_size_for_lr", _record([0.1] * 3), {"optimizer": "sgd", "lr": 3.0, "batch_size": 10})
    assert too_high.remedies == [["optimizer.lr=0.00391"], ["train.batch_size=512"]]  # the largest batch offered
    large = RULES.build("batch_size_for_lr", _record([0.1] * 3), {"optimizer": "sgd", "lr": 0.01, "batch_size": 4096})
    assert large.remedies == [["train.batch_size=32"], ["optimizer.lr=1.6"]]


def test_the_doctor_context_carries_the_batch_size_the_rule_reads():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=g).numpy()
    splits = from_arrays(x, (x[:, 0] > 0).astype("int64"), valid=20)
    cfg = load_config(None, ["model.hidden=[5]", "train.batch_size=7"])
    assert run_context(cfg, splits)["batch_size"] == 7


@pytest.mark.parametrize(("name", "adaptive"), [
    ("adam", True), ("keras_nadam", True), ("keras_rmsprop", True), ("sgd", False), ("keras_sgd", False),
    ("momentum", False), (None, False),
])
def test_keras_forms_of_the_optimizers_are_as_adaptive_as_torchs(name, adaptive):
    assert D.is_adaptive(name) is adaptive
    finding = RULES.build("oscillating_accuracy", _record(_zigzag(0.1, 5)), {"lr": 0.1, "optimizer": name})
    assert (["optimizer.name=adam", "optimizer.lr=0.001"] in finding.remedies) is not adaptive
