"""An epoch's padded batch order (train/batches.py): step counts, permutations, padding weights."""

from __future__ import annotations

import math

import pytest
import torch

from deepfit.train.batches import EpochOrder, steps_per_epoch

CPU = torch.device("cpu")


@pytest.mark.parametrize(("n", "batch", "drop_last", "steps"), [
    (230, 32, False, 8), (230, 32, True, 7), (224, 32, False, 7), (224, 32, True, 7),
    (5, 32, False, 1), (5, 32, True, 1), (1, 1, False, 1), (33, 32, True, 1), (33, 32, False, 2),
])
def test_steps_per_epoch_counts_whole_batches_plus_the_short_one_unless_dropped(n, batch, drop_last, steps):
    assert steps_per_epoch(n, batch, drop_last=drop_last) == steps


@pytest.mark.parametrize("n", range(1, 70))
@pytest.mark.parametrize("drop_last", [False, True])
def test_steps_per_epoch_is_ceil_or_floor_of_n_over_batch(n, drop_last):
    expected = n // 16 if drop_last and n >= 16 else math.ceil(n / 16)
    assert steps_per_epoch(n, 16, drop_last=drop_last) == expected


def _order(n=230, batch=32, k=2, drop_last=False, seeds=(1, 2)) -> EpochOrder:
    order = EpochOrder(n, batch, k, CPU, drop_last=drop_last)
    order.shuffle_([torch.Generator().manual_seed(s) for s in seeds])
    return order


def test_every_member_sees_every_sample_once_per_epoch_in_its_own_order():
    order = _order()
    assert order.order.shape == (2, 8, 32) and order.weight.shape == (8, 32)
    real = order.weight.view(-1) > 0
    for k in range(2):
        assert sorted(order.order[k].view(-1)[real].tolist()) == list(range(230))
    assert not torch.equal(order.order[0], order.order[1])


def test_a_members_order_is_torch_randperm_of_its_generator():
    order = _order(seeds=(7, 8))
    for k, seed in enumerate((7, 8)):
        perm = torch.randperm(230, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(order.order[k].view(-1)[:230], perm)


def test_the_short_batch_is_padded_with_sample_zero_at_weight_zero():
    order = _order()
    assert order.tail == 6 and order.seen == 230
    assert order.weight[:7].eq(1).all() and order.weight[7, :6].eq(1).all() and order.weight[7, 6:].eq(0).all()
    assert order.order[:, 7, 6:].eq(0).all()
    assert order.totals.tolist() == [32.0] * 7 + [6.0]


def test_drop_last_leaves_the_short_batch_out_with_full_weights():
    order = _order(drop_last=True)
    assert order.steps == 7 and order.seen == 224 and order.tail == 32
    assert order.weight.eq(1).all()
    assert len(set(order.order[0].view(-1).tolist())) == 224


def test_drop_last_with_fewer_samples_than_a_batch_keeps_the_one_short_batch():
    order = _order(n=5, drop_last=True)
    assert not order.drop_last and order.steps == 1 and order.tail == 5 and order.seen == 5


def test_batch_and_tail_batch_read_the_asked_step():
    order = _order()
    idx, w = order.batch(torch.tensor([3]))
    assert torch.equal(idx, order.order[:, 3]) and torch.equal(w, order.weight[3])
    assert order.total(torch.tensor([7])).item() == 6.0
    idx, w = order.tail_batch()
    assert idx.shape == (2, 6) and w.shape == (6,) and w.eq(1).all()
    assert torch.equal(idx, order.order[:, 7, :6])


def test_shuffle_refills_the_same_tensors_in_place():
    order = _order()
    tensor, first = order.order, order.order.clone()
    order.shuffle_([torch.Generator().manual_seed(s) for s in (3, 4)])
    assert order.order is tensor and not torch.equal(order.order, first)


def test_an_empty_epoch_is_refused():
    with pytest.raises(ValueError, match="an epoch needs at least one training sample"):
        EpochOrder(0, 32, 1, CPU)
