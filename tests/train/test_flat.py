"""FlatTensors: members' tensors as rows of one (K, N) buffer, and the gradient through its split."""

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from deepfit.train.flat import FlatTensors


def _flat(k: int = 3, layers: int = 12) -> FlatTensors:
    torch.manual_seed(0)
    shapes = [(4, 3), (4,)] * layers
    members = [[torch.randn(s) for s in shapes] for _ in range(k)]
    return FlatTensors([f"t{i}" for i in range(len(shapes))], members, torch.device("cpu"))


def test_split_gives_views_of_each_segment_in_order():
    flat = _flat()
    parts = flat.split(flat.data)
    for seg, part in zip(flat.segments, parts, strict=True):
        assert part.shape == (3, *seg.shape)
        assert part.untyped_storage().data_ptr() == flat.data.untyped_storage().data_ptr()
        assert torch.equal(part, flat.stacked(seg.name))


def test_the_gradient_through_split_is_one_concatenation_not_a_scatter_per_segment():
    """The compiled step differentiates a loss of the split views with respect to the flat buffer: its
    backward must be one cat (a slice per segment makes a sum of zero-padded scatters, which inductor turns
    into a kernel testing each element against every segment: a 100-layer net, compiled, ran at half the
    speed of eager)."""
    flat = _flat()

    def loss(data: torch.Tensor) -> torch.Tensor:
        return sum((p * p).sum() for p in flat.split(data))

    grad = torch.func.grad(loss)(flat.data)
    torch.testing.assert_close(grad, 2 * flat.data)
    code = make_fx(torch.func.grad(loss))(flat.data).code
    assert "slice_scatter" not in code and "slice_backward" not in code
    assert code.count("aten.cat") == 1
