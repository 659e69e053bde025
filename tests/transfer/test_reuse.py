import pytest
import torch
from torch import nn

from deepfit.errors import ConfigError, ShapeError
from deepfit.nn import ModelSpec, build_model
from deepfit.transfer import check_head, clone, layer_names, reuse, transfer_model, transfer_spec, with_head


def _model(hidden=(8, 6, 4), outputs=3):
    torch.manual_seed(0)
    spec = ModelSpec(input_shape=(5,), num_outputs=outputs, hidden=list(hidden))
    return build_model(spec), spec


def test_training_the_clone_leaves_the_original_unchanged():
    model, _ = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = clone(model)
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    twin(torch.randn(16, 5)).pow(2).sum().backward()
    opt.step()
    assert any(not torch.equal(before[k], v) for k, v in twin.state_dict().items())
    for k, v in model.state_dict().items():
        assert torch.equal(before[k], v), k


def test_reuse_keeps_the_first_n_hidden_layers_by_count_or_name():
    model, _ = _model()
    assert layer_names(reuse(model, 2)) == ["hidden1", "hidden2"]
    assert layer_names(reuse(model, "hidden1")) == ["hidden1"]
    body = reuse(model, 2)
    assert body.hidden1.linear.weight is not model.hidden1.linear.weight
    assert torch.equal(body.hidden1.linear.weight, model.hidden1.linear.weight)


def test_with_head_adds_a_fresh_output_layer_of_the_right_size():
    model, _ = _model()
    new = with_head(reuse(model, 2), 2)
    assert new(torch.randn(4, 5)).shape == (4, 2)
    assert layer_names(new) == ["hidden1", "hidden2", "output"]


@pytest.mark.parametrize(
    "upto, match",
    [(4, "asked for 4 hidden layers, this model has 3"), ("hidden9", "no hidden layer named 'hidden9'.*hidden1")],
)
def test_reuse_errors_name_what_was_asked_and_what_exists(upto, match):
    model, _ = _model()
    with pytest.raises(ConfigError, match=match):
        reuse(model, upto)


def test_transfer_model_copies_hidden_weights_and_rebuilds_from_its_spec():
    model, spec = _model()
    new, new_spec = transfer_model(model, spec, 2, 1)
    assert new_spec.hidden == [8, 6] and new_spec.num_outputs == 1
    assert torch.equal(new.hidden2.linear.weight, model.hidden2.linear.weight)
    rebuilt = build_model(new_spec)
    rebuilt.load_state_dict(new.state_dict())  # model.json alone describes the transferred model
    with pytest.raises(ConfigError, match="asked for 5 hidden layers, the source model has 3"):
        transfer_spec(spec, 5, 1)


def test_check_head_rejects_a_head_that_does_not_match_the_labels():
    model, _ = _model(outputs=3)
    with pytest.raises(ShapeError, match="head has 3 outputs but the labels need 2"):
        check_head(model, 2)


def test_with_head_rejects_a_head_of_the_wrong_width():
    model, _ = _model()
    with pytest.raises(ShapeError, match=r"must be Linear\(6, 2\)"):
        with_head(reuse(model, 2), 2, init=nn.Linear(7, 2))
