"""The evaluation batch size: cache-sized on a CPU for networks with large layer outputs, 4096 otherwise."""

import torch
from torch import nn

from deepfit.train.eval_batch import CPU_BUDGET_BYTES, MAX_BATCH, MIN_BATCH, auto_eval_batch_size, largest_output_bytes

CPU = torch.device("cpu")


def _conv() -> nn.Module:  # 32 x 28 x 28 floats = 100,352 bytes per sample after the first layer
    return nn.Sequential(nn.Unflatten(1, (1, 28)), nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(32 * 28 * 28, 10))


def _dense() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 10))


def test_largest_output_is_measured_per_sample_over_leaf_modules():
    assert largest_output_bytes(_conv(), torch.zeros(2, 28, 28)) == 32 * 28 * 28 * 4
    assert largest_output_bytes(_dense(), torch.zeros(2, 28, 28)) == 784 * 4  # Flatten's output is the largest


def test_conv_net_on_a_cpu_gets_the_largest_power_of_two_within_the_budget():
    batch = auto_eval_batch_size(_conv(), torch.zeros(2, 28, 28), CPU)
    assert batch == 128 and batch * 32 * 28 * 28 * 4 <= CPU_BUDGET_BYTES < 2 * batch * 32 * 28 * 28 * 4


def test_dense_net_keeps_the_largest_batch_and_members_share_the_budget():
    assert auto_eval_batch_size(_dense(), torch.zeros(2, 28, 28), CPU) == MAX_BATCH
    assert auto_eval_batch_size(_conv(), torch.zeros(2, 28, 28), CPU, members=16) == MIN_BATCH


def test_an_accelerator_takes_the_largest_batch():
    assert auto_eval_batch_size(_conv(), torch.zeros(2, 28, 28), torch.device("meta")) == MAX_BATCH


def test_measuring_leaves_the_mode_and_no_hooks_behind():
    model = _conv().train()
    auto_eval_batch_size(model, torch.zeros(2, 28, 28), CPU)
    assert model.training and all(not m._forward_hooks for m in model.modules())
