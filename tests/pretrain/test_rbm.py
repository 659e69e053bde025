import pytest
import torch

from deepfit.errors import ConfigError, DataError
from deepfit.nn import ModelSpec
from deepfit.pretrain import RBM, pretrain_rbm
from deepfit.train import UpdateRule


def test_cd_k_gradient_matches_the_positive_minus_negative_phase():
    torch.manual_seed(0)
    rbm = RBM(6, 4, k=2)
    torch.nn.init.normal_(rbm.linear.weight, std=0.5)
    v = torch.bernoulli(torch.full((16, 6), 0.5))
    torch.manual_seed(1)
    rbm(v).mean().backward()
    torch.manual_seed(1)
    v_k = rbm.gibbs(v, 2)
    with torch.no_grad():
        positive = rbm.hidden_probs(v).T @ v / 16  # <p(h|v) v'> under the data
        negative = rbm.hidden_probs(v_k).T @ v_k / 16  # ... under the k-step chain
    torch.testing.assert_close(rbm.linear.weight.grad, -(positive - negative))
    torch.testing.assert_close(rbm.visible_bias.grad, -(v.mean(0) - v_k.mean(0)))


def test_stacked_rbm_learns_binary_prototypes():
    g = torch.Generator().manual_seed(0)
    protos = (torch.rand(3, 30, generator=g) > 0.5).float()
    x = protos[torch.randint(0, 3, (300,), generator=g)]
    flip = torch.rand(x.shape, generator=g) < 0.05
    x = torch.where(flip, 1 - x, x)
    spec = ModelSpec(input_shape=(30,), num_outputs=1, hidden=[12, 6], activation="sigmoid", init="glorot_uniform")
    torch.manual_seed(0)
    model, rows = pretrain_rbm(spec, x, epochs=6, rule=UpdateRule("sgd", {"lr": 0.1}), batch_size=16)
    assert rows[0]["reconstruction_mse"] < 0.12  # an untrained RBM reconstructs at about 0.25
    assert model.hidden2(model.hidden1(x)).shape == (300, 6)


def test_rbm_rejects_non_sigmoid_units_and_inputs_outside_0_1():
    spec = ModelSpec(input_shape=(4,), num_outputs=1, hidden=[3], activation="relu")
    with pytest.raises(ConfigError, match=r"needs model\.activation = 'sigmoid', got 'relu'"):
        pretrain_rbm(spec, torch.rand(10, 4))
    spec = ModelSpec(input_shape=(4,), num_outputs=1, hidden=[3], activation="sigmoid")
    with pytest.raises(DataError, match=r"inputs in \[0, 1\], got \[-1"):
        pretrain_rbm(spec, torch.rand(10, 4) - 1.5)
    with pytest.raises(ConfigError, match=r"k \(Gibbs steps of CD-k\) must be >= 1, got 0"):
        RBM(4, 3, k=0)
