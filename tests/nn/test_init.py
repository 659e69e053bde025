import math

import pytest
import torch

from deepfit.errors import ConfigError
from deepfit.nn.init import INITIALIZERS, auto_initializer, fans, variance_scaling

OUT, IN = 400, 600  # fan_in 600, fan_out 400, fan_avg 500
FAN = {"fan_in": IN, "fan_out": OUT, "fan_avg": (IN + OUT) / 2}
# variance of N(0, 1) truncated to [-2, 2]
TRUNC_VAR = 1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2))


def _draw(init) -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.empty(OUT, IN)
    init(w)
    return w


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_variance_scaling_variance_matches_scale_over_fan(mode, distribution, scale):
    w = _draw(variance_scaling(scale, mode, distribution))
    assert w.var().item() == pytest.approx(scale / FAN[mode], rel=0.03)
    assert abs(w.mean().item()) < 0.01 * math.sqrt(scale / FAN[mode]) * 10


def test_truncated_normal_cuts_at_two_corrected_stddevs():
    w = _draw(variance_scaling(2.0, "fan_in", "truncated_normal"))
    corrected_std = math.sqrt(2.0 / IN) / 0.87962566103423978
    assert w.abs().max().item() <= 2 * corrected_std + 1e-6
    assert w.abs().max().item() > 1.9 * corrected_std


EXPECTED_VARIANCE = {
    "glorot_uniform": 1 / FAN["fan_avg"],
    "glorot_normal": 1 / FAN["fan_avg"],
    "he_normal": 2 / IN,
    "he_uniform": 2 / IN,
    "lecun_normal": 1 / IN,
    "lecun_uniform": 1 / IN,
    "kaiming_normal": 2 / IN,
    "kaiming_uniform": 2 / IN,
    "xavier_normal": 2 / (IN + OUT),
    "xavier_uniform": 2 / (IN + OUT),
    "random_normal": 0.05**2,
    "random_uniform": 0.1**2 / 12,
    "truncated_normal": 0.05**2 * TRUNC_VAR,
    "orthogonal": 1 / IN,  # (400, 600) with orthonormal rows: each row has unit norm over 600 entries
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANCE))
def test_initializer_variance_matches_its_formula(name):
    w = _draw(INITIALIZERS.build(name))
    assert w.var().item() == pytest.approx(EXPECTED_VARIANCE[name], rel=0.04)


def test_every_initializer_has_a_variance_or_exact_test():
    exact = {"zeros", "ones", "constant", "identity", "variance_scaling"}
    assert set(INITIALIZERS.names()) == set(EXPECTED_VARIANCE) | exact


def test_exact_initializers():
    assert torch.equal(_draw(INITIALIZERS.build("zeros")), torch.zeros(OUT, IN))
    assert torch.equal(_draw(INITIALIZERS.build("ones")), torch.ones(OUT, IN))
    assert torch.equal(_draw(INITIALIZERS.build("constant", value=0.5)), torch.full((OUT, IN), 0.5))
    assert torch.equal(_draw(INITIALIZERS.build("identity", gain=2.0)), 2 * torch.eye(OUT, IN))
    w = _draw(INITIALIZERS.build("orthogonal"))
    assert torch.allclose(w @ w.T, torch.eye(OUT), atol=1e-4)


def test_keras_and_pytorch_names_are_distinct_definitions():
    he = _draw(INITIALIZERS.build("he_normal"))
    kaiming = _draw(INITIALIZERS.build("kaiming_normal"))
    std = math.sqrt(2 / IN)
    assert he.abs().max().item() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated
    assert kaiming.abs().max().item() > 3 * std  # untruncated normal has tails past 2 corrected stddevs


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", "he_normal"),
        ("elu", "he_normal"),
        ("swish", "he_normal"),
        ("selu", "lecun_normal"),
        ("tanh", "glorot_uniform"),
        ("sigmoid", "glorot_uniform"),
        ("linear", "glorot_uniform"),
    ],
)
def test_auto_pairs_initializer_with_activation(activation, expected):
    assert auto_initializer(activation) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0}, "scale must be > 0, got 0"),
        ({"mode": "fan_mean"}, "mode must be one of .* got 'fan_mean'"),
        ({"distribution": "cauchy"}, "distribution must be one of .* got 'cauchy'"),
    ],
)
def test_variance_scaling_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        variance_scaling(**kwargs)


def test_fans_follow_torch_weight_layout():
    assert fans(torch.empty(3, 5)) == (5, 3)
    assert fans(torch.empty(8, 4, 3, 3)) == (36, 72)


def test_keras_random_initializers_take_their_parameters():
    normal = _draw(INITIALIZERS.build("random_normal", mean=1.0, stddev=0.2))
    assert normal.mean().item() == pytest.approx(1.0, abs=0.01) and normal.std().item() == pytest.approx(0.2, rel=0.02)
    uniform = _draw(INITIALIZERS.build("random_uniform", minval=0.0, maxval=2.0))
    assert uniform.min().item() >= 0.0 and uniform.max().item() <= 2.0
    assert uniform.mean().item() == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ConfigError, match="maxval must exceed minval"):
        INITIALIZERS.build("random_uniform", minval=1.0, maxval=1.0)
    with pytest.raises(ConfigError, match="stddev must be > 0"):
        INITIALIZERS.build("random_normal", stddev=0.0)
