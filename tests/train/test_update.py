"""The update rule of K members (train/update.py) against plain torch.optim, one member at a time."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError
from deepfit.optim import ScheduleWithMomentum, build_optimizer
from deepfit.train.flat import flatten_members
from deepfit.train.update import Update, UpdateRule

CPU = torch.device("cpu")


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


def _build(rules, seeds=None, lr_factors=None):
    """K fresh nets, untouched copies of them for torch.optim, and the `Update` over the nets' flat rows."""
    seeds = seeds or list(range(1, len(rules) + 1))
    nets = [_net(s) for s in seeds]
    copies = [copy.deepcopy(n) for n in nets]
    tensors = flatten_members(nets, CPU, lr_factors)
    views = {s.name: tensors.trainable.stacked(s.name) for s in tensors.trainable.segments}
    update = Update(rules, tensors, ["0", "2"], views.__getitem__, CPU)
    return nets, copies, tensors, update


def _grads(tensors, seed: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(tensors.trainable.data.shape, generator=g)


def _set_grads(model: nn.Module, tensors, grads_row: torch.Tensor) -> None:
    """Give `model` the gradients of one (N,) row, cut by the flat buffer's segments."""
    params = dict(model.named_parameters())
    for s in tensors.trainable.segments:
        params[s.name].grad = grads_row[s.start : s.stop].view(s.shape).clone()


def _run(update, steps: int, first_step: int = 0, per_epoch: int | None = None, active=None) -> list:
    update.prepare(first_step, steps, per_epoch or steps)
    return [update.apply_(_grads(update.tensors, 100 + i), torch.tensor([i]), active) for i in range(steps)]


def _close(model: nn.Module, other: nn.Module, tol: float = 1e-6) -> None:
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize(("optimizer", "params"), [
    ("sgd", [{"lr": 0.1}, {"lr": 0.03, "momentum": 0.5}]),
    ("adam", [{"lr": 0.01}, {"lr": 0.003, "betas": (0.8, 0.95), "weight_decay": 0.01}]),
    ("rmsprop", [{"lr": 0.01}, {"lr": 0.002}]),
])
def test_each_member_steps_as_its_own_torch_optimizer(optimizer, params):
    nets, copies, tensors, update = _build([UpdateRule(optimizer, p) for p in params])
    opts = [build_optimizer(optimizer, c.parameters(), **p) for c, p in zip(copies, params, strict=True)]
    _run(update, 5)
    for i in range(5):
        grads = _grads(tensors, 100 + i)
        for k, (c, opt) in enumerate(zip(copies, opts, strict=True)):
            _set_grads(c, tensors, grads[k])
            opt.step()
    for net, c in zip(nets, copies, strict=True):
        _close(net, c)


def test_global_norm_clipping_equals_torch_clip_grad_norm_and_reports_the_norm():
    thresholds = [0.5, 50.0]  # the first member is clipped, the second is not
    rules = [UpdateRule("sgd", {"lr": 0.1}, clip="global_norm", clip_threshold=t) for t in thresholds]
    nets, copies, tensors, update = _build(rules)
    grads = _grads(tensors, 7, scale=2.0)
    update.prepare(0, 1, 1)
    stats = update.apply_(grads.clone(), torch.tensor([0]), None)
    for k, (c, t) in enumerate(zip(copies, thresholds, strict=True)):
        _set_grads(c, tensors, grads[k])
        norm = torch.nn.utils.clip_grad_norm_(c.parameters(), t)
        torch.optim.SGD(c.parameters(), lr=0.1).step()
        torch.testing.assert_close(stats[k, 0], norm)
        assert stats[k, 1].item() == float(norm > t)
        _close(nets[k], c)
    assert stats[:, 1].tolist() == [1.0, 0.0]


def test_without_clipping_no_statistics_are_returned():
    _, _, _, update = _build([UpdateRule("sgd", {"lr": 0.1})])
    assert _run(update, 1) == [None]


def test_a_schedule_sets_each_steps_lr_and_epoch_schedules_move_once_per_epoch():
    def schedule(t: int) -> float:
        return 0.1 / (1 + t)

    rules = [UpdateRule("sgd", {"lr": 1.0}, schedule=schedule),
             UpdateRule("sgd", {"lr": 1.0}, schedule=schedule, schedule_interval="epoch"),
             UpdateRule("sgd", {"lr": 0.25})]
    _, _, tensors, update = _build(rules)
    update.prepare(6, 6, 3)  # steps 6..11 of a run of 3 steps per epoch: epochs 2 and 3
    assert update.lrs[0] == pytest.approx([schedule(t) for t in range(6, 12)])
    assert update.lrs[1] == pytest.approx([schedule(2)] * 3 + [schedule(3)] * 3)
    assert update.lrs[2] == [0.25] * 6
    before = tensors.trainable.data.clone()
    grads = _grads(tensors, 3)
    update.apply_(grads, torch.tensor([4]), None)  # the column of step 10 (epoch 3)
    expected = before - torch.tensor([[schedule(10)], [schedule(3)], [0.25]]) * grads
    torch.testing.assert_close(tensors.trainable.data, expected)


def test_a_momentum_schedule_cycles_beta1_and_needs_an_optimizer_with_momentum():
    def schedule(t: int) -> float:
        return 0.01

    cycled = ScheduleWithMomentum(schedule, lambda t: 0.9 - 0.1 * t)
    _, _, _, update = _build([UpdateRule("adam", {"lr": 0.01}, schedule=cycled), UpdateRule("adam", {"lr": 0.01})])
    update.prepare(0, 3, 3)
    assert update.momenta[0] == pytest.approx([0.9, 0.8, 0.7])
    assert update.momenta[1] == pytest.approx([0.9] * 3)  # adam's own beta1
    with pytest.raises(ConfigError, match="optimizer 'adagrad' has neither momentum nor betas"):
        _build([UpdateRule("adagrad", {"lr": 0.01}, schedule=cycled)])


def test_set_lr_scales_the_next_tables_of_that_member_only():
    _, _, _, update = _build([UpdateRule("sgd", {"lr": 0.1}), UpdateRule("sgd", {"lr": 0.2})])
    update.set_lr(0, 0.01)
    assert update.lr(0) == pytest.approx(0.01) and update.lr(1) == pytest.approx(0.2)
    update.prepare(0, 2, 2)
    assert update.lrs == [pytest.approx([0.01, 0.01]), pytest.approx([0.2, 0.2])]


def test_lr_factors_scale_the_matching_layers_step():
    rules = [UpdateRule("sgd", {"lr": 0.1}, lr_factors={"0": 0.5})]
    nets, copies, tensors, update = _build(rules, lr_factors={"0": 0.5})
    grads = _grads(tensors, 4)
    update.prepare(0, 1, 1)
    update.apply_(grads.clone(), torch.tensor([0]), None)
    _set_grads(copies[0], tensors, grads[0])
    torch.optim.SGD([{"params": copies[0][0].parameters(), "lr": 0.05},
                     {"params": copies[0][2].parameters(), "lr": 0.1}]).step()
    _close(nets[0], copies[0])


def test_an_inactive_member_keeps_its_weights():
    """Only the weights are held (optim/batched.py `apply_update_`): a member stops for good once inactive."""
    _, _, tensors, update = _build([UpdateRule("adam", {"lr": 0.01}), UpdateRule("adam", {"lr": 0.01})])
    before = tensors.trainable.data.clone()
    _run(update, 2, active=torch.tensor([[True], [False]]))
    assert not torch.equal(tensors.trainable.data[0], before[0])
    torch.testing.assert_close(tensors.trainable.data[1], before[1], rtol=0, atol=0)


def test_max_norm_caps_each_hidden_units_incoming_weights_after_the_step():
    rules = [UpdateRule("sgd", {"lr": 1.0}, max_norm={"max_value": r}) for r in (0.3, 100.0)]
    nets, _, _, update = _build(rules)
    _run(update, 1)
    hidden = nets[0][0].weight.detach().norm(dim=1)
    assert hidden.max().item() == pytest.approx(0.3, rel=1e-5)
    assert nets[0][2].weight.detach().norm(dim=1).max().item() > 0.3  # the output layer is left out by default
    assert nets[1][0].weight.detach().norm(dim=1).max().item() < 100.0


def test_pruned_weights_stay_zero_after_steps():
    mask = torch.ones(5, 4)
    mask[:, :2] = 0.0
    nets, _, _, update = _build([UpdateRule("adam", {"lr": 0.01}, masks={"0": mask})])
    with torch.no_grad():
        nets[0][0].weight.mul_(mask)
    _run(update, 3)
    w = nets[0][0].weight.detach()
    assert torch.count_nonzero(w[:, :2]).item() == 0 and torch.count_nonzero(w[:, 2:]).item() == 10


def test_the_penalty_is_each_members_l2_of_its_kernels():
    rules = [UpdateRule("sgd", {"lr": 0.1}, penalty={"name": "l2", "l2": f}) for f in (1e-3, 0.0)]
    nets, _, _, update = _build(rules)
    expected = 1e-3 * sum(nets[0][i].weight.detach().square().sum() for i in (0, 2))
    penalty = update.penalty()
    assert update.has_penalty and penalty.shape == (2,)
    torch.testing.assert_close(penalty, torch.stack([expected, torch.tensor(0.0)]))


def test_no_penalty_is_none():
    _, _, _, update = _build([UpdateRule("sgd", {"lr": 0.1})])
    assert not update.has_penalty and update.penalty() is None


@pytest.mark.parametrize(("rules", "message"), [
    ([UpdateRule("sgd"), UpdateRule("adam")], "members differ in optimizer"),
    ([UpdateRule("sgd", clip="norm"), UpdateRule("sgd")], "members differ in clip"),
    ([UpdateRule("sgd", max_norm={"max_value": 1.0}), UpdateRule("sgd")], "members differ in whether max-norm is on"),
    ([UpdateRule("sgd", max_norm={"axis": 0}), UpdateRule("sgd", max_norm={"axis": 1})],
     "members differ in max_norm.axis"),
    ([UpdateRule("sgd", lr_factors={"0": 0.5}), UpdateRule("sgd")], "members differ in lr_factors"),
    ([UpdateRule("sgd", masks={"0": torch.ones(5, 4)}), UpdateRule("sgd")],
     "members differ in which layers are pruned"),
])
def test_members_that_must_agree_but_differ_are_refused_by_name(rules, message):
    with pytest.raises(ConfigError, match=f"{message} .*train them in separate groups"):
        _build(rules)


def test_a_bad_clip_threshold_is_refused():
    with pytest.raises(ConfigError, match=r"clip.threshold: clipping 'global_norm' needs a threshold > 0, got -1"):
        _build([UpdateRule("sgd", clip="global_norm", clip_threshold=-1)])


def test_a_checkpoint_restores_state_and_lr_scale_and_refuses_another_optimizer():
    _, _, _, update = _build([UpdateRule("adam", {"lr": 0.01})])
    _run(update, 2)
    update.set_lr(0, 0.005)
    saved = copy.deepcopy(update.state_dict())
    _, _, _, fresh = _build([UpdateRule("adam", {"lr": 0.01})])
    fresh.load_state_dict(saved)
    assert fresh.lr(0) == pytest.approx(0.005)
    for key, value in saved["state"].items():
        torch.testing.assert_close(fresh.state[key], value, rtol=0, atol=0, msg=key)
    _, _, _, other = _build([UpdateRule("sgd", {"lr": 0.01})])
    with pytest.raises(ConfigError, match="the checkpoint's optimizer is 'adam', this run's 'sgd'"):
        other.load_state_dict(saved)
