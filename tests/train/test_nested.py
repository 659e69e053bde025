import json
import math

import pytest
import torch

from deepfit.train.nested import join_tensors, split_tensors


def test_nested_state_round_trips_through_json():
    state = {
        "weights": {"hidden1.linear.weight": torch.randn(3, 4), "a/b~c": torch.arange(5, dtype=torch.int64)},
        "generator": torch.Generator().manual_seed(1).get_state(),  # uint8
        "mask": torch.tensor([True, False]),
        "floats": [0.1, -0.0, math.inf, -math.inf, 1e308, 5e-324],
        "plain": [None, True, 3, "text", [], {}],
        "pair": (1, torch.zeros(2)),
        "raw": b"\x00\xffbytes",
        "tag-like": {"$tensor": "not a tensor"},
    }
    skeleton, tensors = split_tensors(state)
    back = join_tensors(json.loads(json.dumps(skeleton, allow_nan=False)), tensors)
    for key in ("hidden1.linear.weight", "a/b~c"):
        assert torch.equal(back["weights"][key], state["weights"][key])
    assert torch.equal(back["generator"], state["generator"]) and back["generator"].dtype == torch.uint8
    assert torch.equal(back["mask"], state["mask"])
    assert back["floats"] == state["floats"] and math.copysign(1, back["floats"][1]) == -1
    assert back["plain"] == state["plain"] and back["raw"] == state["raw"]
    assert isinstance(back["pair"], tuple) and back["pair"][0] == 1 and torch.equal(back["pair"][1], torch.zeros(2))
    assert back["tag-like"] == {"$tensor": "not a tensor"}


def test_nan_round_trips():
    skeleton, tensors = split_tensors({"best": math.nan})
    assert math.isnan(join_tensors(json.loads(json.dumps(skeleton, allow_nan=False)), tensors)["best"])


def test_tensor_paths_are_json_pointers_and_copies():
    t = torch.ones(4)
    skeleton, tensors = split_tensors({"members": [{"w": t[1:3]}], "x/y": t})
    assert skeleton == {"members": [{"w": {"$tensor": "/members/0/w"}}], "x/y": {"$tensor": "/x~1y"}}
    assert tensors["/members/0/w"].data_ptr() != t.data_ptr() and tensors["/members/0/w"].is_contiguous()


@pytest.mark.parametrize("bad", [{1: "int key"}, {"x": object()}, {"x": {1, 2}}])
def test_unsupported_values_are_a_type_error_naming_the_place(bad):
    with pytest.raises(TypeError, match="state at /"):
        split_tensors(bad)


@pytest.mark.parametrize(
    "skeleton",
    [{"$tensor": "/missing"}, {"$float": "1.5"}, {"$bytes": "not base64!"}, {"$tuple": 3}, {"$dict": []}, 2j],
)
def test_malformed_skeleton_is_a_value_error(skeleton):
    with pytest.raises(ValueError):
        join_tensors(skeleton, {})
