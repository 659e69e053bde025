import pytest
import torch
from torch import nn

from deepfit.nn import ModelSpec, build_model, check_self_normalizing

DEPTH = 50


def _activation_stats(init, x: torch.Tensor) -> list[tuple[float, float]]:
    """(mean, std) of the output of each of 50 hidden SELU blocks of 100 units, in evaluation mode."""
    torch.manual_seed(0)
    model = build_model(
        ModelSpec(input_shape=(100,), num_outputs=10, hidden=[100] * DEPTH, activation="selu", init=init)
    ).eval()
    stats = []
    with torch.no_grad():
        for i in range(1, DEPTH + 1):
            x = model.get_submodule(f"hidden{i}")(x)
            stats.append((x.mean().item(), x.std().item()))
    return stats


def _standardised(n: int = 500) -> torch.Tensor:
    return torch.randn(n, 100, generator=torch.Generator().manual_seed(1))


def test_selu_lecun_net_keeps_mean_0_and_std_1_through_50_layers():
    stats = _activation_stats("lecun_normal", _standardised())
    assert all(abs(m) < 0.1 and abs(s - 1) < 0.15 for m, s in stats), stats


@pytest.mark.parametrize(
    ("init", "check"),
    [("he_normal", lambda s: s > 5), ({"name": "random_normal", "stddev": 0.05}, lambda s: s < 0.01)],
)
def test_selu_net_drifts_with_the_wrong_initializer(init, check):
    stats = _activation_stats(init, _standardised())
    assert check(stats[-1][1]), stats[-1]


def test_non_standardised_inputs_throw_the_first_layers_off_and_are_reported():
    x = _standardised() * 5 + 3
    mean, std = _activation_stats("lecun_normal", x)[0]
    assert std > 2 and mean > 1
    model = build_model(
        ModelSpec(input_shape=(100,), num_outputs=10, hidden=[100] * 3, activation="selu", init="lecun_normal")
    )
    broken = check_self_normalizing(model, x)
    assert [b.condition for b in broken] == ["standardised inputs"]
    assert "data.standardize" in broken[0].fix


def test_a_selu_lecun_stack_on_standardised_data_meets_every_condition():
    spec = ModelSpec(
        input_shape=(100,),
        num_outputs=10,
        hidden=[64, 64],
        activation="selu",
        init="auto",
        dropout=0.1,
        dropout_kind="alpha",
    )
    model = build_model(spec)
    assert check_self_normalizing(model, _standardised(), spec=spec) == []
    assert check_self_normalizing(model, _standardised()) == []  # init judged from the weights' variance


@pytest.mark.parametrize(
    ("changes", "condition"),
    [
        ({"activation": "relu"}, "SELU everywhere"),
        ({"init": "he_normal"}, "LeCun normal initialisation"),
        ({"layer_init": {"hidden2": "orthogonal"}}, "LeCun normal initialisation"),
        ({"norm": "before"}, "no batch norm"),
        ({"input_norm": True}, "no batch norm"),
        ({"dropout": 0.2}, "alpha dropout only"),
    ],
)
def test_each_broken_condition_is_reported_with_its_fix(changes, condition):
    spec = ModelSpec(
        **{
            "input_shape": (100,),
            "num_outputs": 10,
            "hidden": [64, 64],
            "activation": "selu",
            "init": "lecun_normal",
            **changes,
        }
    )
    broken = check_self_normalizing(build_model(spec), _standardised(), spec=spec)
    assert [b.condition for b in broken] == [condition]
    assert broken[0].fix


def test_penalty_and_non_sequential_models_are_reported():
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(4, 4), nn.SELU())

        def forward(self, x):
            return x + self.inner(x)

    model = nn.Sequential(nn.Linear(4, 4), nn.SELU(), Residual(), nn.Linear(4, 2))
    broken = {b.condition for b in check_self_normalizing(model, penalized=True)}
    assert {"plain sequential dense stack", "no l1/l2 penalty"} <= broken


def test_training_a_selu_net_that_breaks_the_conditions_warns_once(blobs_npz):
    from deepfit.config import load_config
    from deepfit.run import run_training

    cfg = load_config(
        None,
        [
            f"data.path={blobs_npz}",
            "data.name=npz",
            "data.valid=100",
            "train.epochs=1",
            "model.hidden=[8]",
            "model.activation=selu",
            "model.init=he_normal",
        ],
    )
    with pytest.warns(UserWarning, match="will not self-normalize: LeCun normal initialisation") as record:
        run_training(cfg, save=False)
    assert len([w for w in record if "self-normalize" in str(w.message)]) == 1
