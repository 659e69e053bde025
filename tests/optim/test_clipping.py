import pytest
import torch

from deepfit.config import load_config
from deepfit.errors import ConfigError
from deepfit.optim import CLIPPERS, check_threshold
from deepfit.run import run_training

SEGMENTS = [(0, 2), (2, 3)]  # two parameter tensors: a = [3, 4] (norm 5) and b = [-12] (norm 12)


def _grads() -> torch.Tensor:
    """One member's gradients as a row, global norm 13; a second member's are ten times smaller."""
    return torch.tensor([[3.0, 4.0, -12.0], [0.3, 0.4, -1.2]])


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
    t = check_threshold(name, threshold)
    g, norm, hit = CLIPPERS.get(name).constructor(_grads(), torch.tensor([[t], [100.0]]), SEGMENTS)
    assert torch.allclose(g[0], torch.tensor([*a, *b]), atol=1e-5)
    assert torch.equal(g[1], _grads()[1])  # the second member's threshold of 100 leaves it alone
    assert norm.tolist() == pytest.approx([13.0, 1.3])
    assert hit.tolist() == [clipped, 0.0]


@pytest.mark.parametrize("name", CLIPPERS.names())
def test_every_clipper_returns_one_figure_per_member_and_keeps_small_gradients(name):
    g, norm, hit = CLIPPERS.get(name).constructor(_grads(), torch.full((2, 1), 100.0), SEGMENTS)
    assert norm.shape == hit.shape == (2,)
    assert torch.equal(g, _grads())


@pytest.mark.parametrize("threshold", [0, -1.0])
def test_clipping_threshold_must_be_positive(threshold):
    with pytest.raises(ConfigError, match=rf"clip\.threshold: clipping 'value' needs a threshold > 0, got {threshold}"):
        check_threshold("value", threshold)


def test_unknown_clipping_lists_the_valid_names():
    with pytest.raises(ConfigError, match=r"unknown gradient clipping 'globalnorm2'.*valid: global_norm, none"):
        check_threshold("globalnorm2", 1.0)


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
