import pytest
import torch
from torch import nn

from deepfit.config import load_config
from deepfit.errors import ConfigError
from deepfit.optim import CLIPPERS, build_clip
from deepfit.train import run_training


class _TwoParams(nn.Module):
    """Gradients a = [3, 4] (norm 5) and b = [-12] (norm 12): global norm 13."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(2))
        self.b = nn.Parameter(torch.zeros(1))
        self.a.grad = torch.tensor([3.0, 4.0])
        self.b.grad = torch.tensor([-12.0])


@pytest.mark.parametrize(
    ("name", "threshold", "a", "b", "clipped"),
    [
        ("none", None, [3.0, 4.0], [-12.0], 0.0),
        ("value", 3.5, [3.0, 3.5], [-3.5], 1.0),
        ("value", 20.0, [3.0, 4.0], [-12.0], 0.0),
        ("norm", 6.5, [3.0, 4.0], [-6.5], 1.0),  # only b's norm (12) exceeds 6.5
        ("norm", 4.0, [2.4, 3.2], [-4.0], 1.0),
        ("global_norm", 6.5, [1.5, 2.0], [-6.0], 1.0),  # every gradient times 6.5 / 13
        ("global_norm", 13.0, [3.0, 4.0], [-12.0], 0.0),
    ],
)
def test_clipping_matches_hand_computed_gradients(name, threshold, a, b, clipped):
    model = _TwoParams()
    stats = build_clip(name, **({} if threshold is None else {"threshold": threshold}))(model)
    assert torch.allclose(model.a.grad, torch.tensor(a))
    assert torch.allclose(model.b.grad, torch.tensor(b))
    assert stats["grad_norm"].item() == pytest.approx(13.0)
    assert stats["clip_fraction"].item() == clipped


@pytest.mark.parametrize("name", CLIPPERS.names())
def test_every_clipper_returns_0d_tensors_and_keeps_small_gradients(name):
    model = _TwoParams()
    stats = CLIPPERS.build(name)(model) if name == "none" else CLIPPERS.build(name, threshold=100.0)(model)
    assert set(stats) == {"grad_norm", "clip_fraction"}
    assert all(v.dim() == 0 for v in stats.values())
    assert torch.equal(model.b.grad, torch.tensor([-12.0]))


@pytest.mark.parametrize("threshold", [0, -1.0])
def test_clipping_threshold_must_be_positive(threshold):
    with pytest.raises(ConfigError, match=rf"clip\.threshold: clipping 'value' needs a threshold > 0, got {threshold}"):
        build_clip("value", threshold=threshold)


def test_unknown_clipping_lists_the_valid_names():
    with pytest.raises(ConfigError, match=r"unknown gradient clipping 'globalnorm2'.*valid: global_norm, none"):
        build_clip("globalnorm2")


def test_history_records_grad_norm_and_fraction_of_steps_clipped(blobs_npz):
    base = [
        f"data.path={blobs_npz}",
        "data.name=npz",
        "data.valid=100",
        "train.epochs=2",
        "train.early_stopping=false",
        "model.hidden=[8]",
        "train.batch_size=100",
    ]
    tight = run_training(load_config(None, [*base, "clip.name=global_norm", "clip.threshold=1e-6"]), save=False)
    assert tight.history["clip_fraction"] == [1.0, 1.0]
    assert all(g > 1e-3 for g in tight.history["grad_norm"])
    loose = run_training(load_config(None, [*base, "clip.name=none"]), save=False)
    assert loose.history["clip_fraction"] == [0.0, 0.0]
    plain = run_training(load_config(None, base), save=False)
    assert "grad_norm" not in plain.history.columns


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("clip.name=valu", r"clip\.name: .*unknown gradient clipping 'valu'; did you mean 'value'"),
        ("clip.threshold=0", r"clip\.threshold: Input should be greater than 0"),
        ("clip.limit=1", r"clip\.limit: unknown key; valid keys: name, threshold"),
    ],
)
def test_bad_clip_config_names_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])
