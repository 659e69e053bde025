"""K members of one dense architecture as one forward pass: batched matrix products over stacked weights,
with batch norm and dropout per member.

Inputs are (K, batch, ...) in training (each member sees its own batch) and may be (batch, ...) when every
member sees the same samples (evaluation). Between layers the activations are kept as columns, (K, features,
batch): each layer is then one `W @ x` with no transposing copy, and a kernel's gradient comes out laid out
as the kernel. Batch statistics honour per-sample weights, so the zero-weight padding of an epoch's last
batch changes neither the loss nor batch norm. Members may differ where the
shapes agree: dropout rates (0 included) and activations. Any layer type not handled here makes the model
`NotStackable`; the engine then trains it through its own `forward` (one member only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from deepfit.nn.keras_batchnorm import BiasedBatchNorm1d
from deepfit.nn.sequence import flat_layers
from deepfit.transfer.freeze import held_in_eval

Tensor = torch.Tensor
ALPHA = 1.7580993408473766  # -SELU's negative saturation, lambda * alpha (Klambauer et al. 2017)

# Element-wise activations that act the same on (K, batch, units) as on (batch, units).
_ELEMENTWISE = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.SiLU, nn.GELU, nn.Mish, nn.Tanh, nn.Sigmoid, nn.Softplus,
    nn.Softsign, nn.Hardsigmoid, nn.Hardswish, nn.Hardtanh, nn.ReLU6, nn.LogSigmoid, nn.Tanhshrink,
)
_DROPOUT = (nn.Dropout, nn.AlphaDropout)


class NotStackable(Exception):
    """The members cannot be trained as one stacked model (an unsupported layer, or differing structures)."""


@dataclass
class Pass:
    """What one forward pass needs besides its input: training or evaluation, the per-sample weights of the
    batch (batch,) (None: every sample counts), which members may update batch-norm statistics (K, 1), and
    where this pass reads its (K, *shape) parameters and buffers by name (None: the net's own `tensor`; a
    functional step gives views of the tensors it differentiates and updates)."""

    train: bool
    weight: Tensor | None = None
    active: Tensor | None = None
    tensors: Callable[[str], Tensor] | None = None


# (x, shared, pass) -> (y, shared): x is (K, features, batch), or (batch, features) seen by every member (`shared`)
Op = Callable[[Tensor, bool, Pass], tuple[Tensor, bool]]


class StackedNet:
    """A forward function over K members whose layers `flat_layers` can open (Flatten, Linear, BatchNorm1d,
    dropout, element-wise activations, PReLU, RReLU).

    `tensor(name)` must give the (K, *shape) stacked view of each member parameter or buffer `name`.
    """

    def __init__(self, members: Sequence[nn.Module], tensor: Callable[[str], Tensor], device: torch.device) -> None:
        self.k, self.device = len(members), device
        layers = [dict(flat_layers(m)) for m in members]
        names = _merged(members)
        self.flatten = False
        if names and isinstance(layers[0].get(names[0]), nn.Flatten):
            _check_flatten(layers[0][names[0]])
            self.flatten, names = True, names[1:]  # the inputs are flattened on the way in
        self.ops: list[Op] = [self._op(name, [m.get(name) for m in layers]) for name in names]
        self.tensor = tensor

    def __call__(self, x: Tensor, p: Pass, *, shared: bool = False) -> Tensor:
        """(K, batch, outputs) for inputs (K, batch, ...), or (batch, ...) seen by every member (`shared`)."""
        if p.tensors is None:
            p = Pass(p.train, p.weight, p.active, self.tensor)
        if self.flatten:
            x = x.flatten(1) if shared else x.flatten(2)
        if not shared:
            x = x.transpose(1, 2)  # (K, features, batch): columns
        for op in self.ops:
            x, shared = op(x, shared, p)
        return (_per_member(x, self.k) if shared else x).transpose(1, 2)  # (K, batch, outputs)

    def _op(self, name: str, modules: list[nn.Module | None]) -> Op:
        present = [m for m in modules if m is not None]
        kinds = {type(m) for m in present}
        if len(present) < len(modules) and not kinds <= set(_DROPOUT):
            raise NotStackable(f"layer {name!r} is missing from some members")
        if len(kinds) > 1 and not all(issubclass(c, _ELEMENTWISE) for c in kinds):
            raise NotStackable(f"layer {name!r} has different types in different members: {sorted(map(str, kinds))}")
        first = present[0]
        if isinstance(first, nn.Linear):
            return _linear(name, self.k, first)
        if isinstance(first, nn.BatchNorm1d):
            return _batchnorm(name, present)
        if isinstance(first, _DROPOUT):
            rates = [0.0 if m is None else float(m.p) for m in modules]
            kind = _alpha_dropout if isinstance(first, nn.AlphaDropout) else _dropout
            return kind(rates, self.device)
        if isinstance(first, nn.PReLU):
            return _prelu(f"{name}.weight")
        if isinstance(first, nn.RReLU):
            if len({(m.lower, m.upper) for m in present}) > 1:
                raise NotStackable(f"layer {name!r}: members differ in RReLU's range")
            return lambda x, shared, p: (F.rrelu(x, first.lower, first.upper, training=p.train), shared)
        if isinstance(first, _ELEMENTWISE):
            return _activation(present, self.device)
        raise NotStackable(f"layer {name!r} ({type(first).__name__}) cannot be stacked")


def _merged(members: Sequence[nn.Module]) -> list[str]:
    """Every member's layer names in forward order; members may lack a dropout layer (rate 0 builds none)."""
    order: list[str] = []
    for m in members:
        names = [n for n, _ in flat_layers(m)]
        for i, n in enumerate(names):
            if n not in order:
                order.insert(order.index(names[i - 1]) + 1 if i and names[i - 1] in order else 0, n)
    return order


def _per_member(x: Tensor, k: int) -> Tensor:
    """(batch, features) seen by every member -> columns (K, features, batch), without a copy."""
    return x.t().unsqueeze(0).expand(k, x.shape[1], x.shape[0])


def _check_flatten(module: nn.Module) -> None:
    if module.start_dim != 1 or module.end_dim != -1:
        raise NotStackable("Flatten other than Flatten(1, -1) cannot be stacked")


def _linear(name: str, k: int, first: nn.Linear) -> Op:
    out, inp = first.out_features, first.in_features
    weight, bias = f"{name}.weight", f"{name}.bias" if first.bias is not None else None

    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        w, b = p.tensors(weight), None if bias is None else p.tensors(bias)  # (K, out, in), (K, out)
        if shared:  # (batch, in): one matrix product against every member's kernel
            y = x @ w.reshape(k * out, inp).t()  # (batch, K * out)
            y = y.view(x.shape[0], k, out).permute(1, 2, 0)  # (K, out, batch)
            return (y + b.unsqueeze(2) if b is not None else y), False
        # (K, out, in) @ (K, in, batch): the kernel's gradient comes out laid out as the kernel
        return (torch.bmm(w, x) if b is None else torch.baddbmm(b.unsqueeze(2), w, x)), False

    return op


def _batchnorm(name: str, modules: list[nn.Module]) -> Op:
    """Batch norm per member (Ioffe & Szegedy 2015), as `nn.BatchNorm1d` on each member's own batch.

    ```
    training:   mu, var = weighted mean and biased variance over the batch;   y = (x - mu) / sqrt(var + eps)
                running_mean += momentum * (mu - running_mean)
                running_var  += momentum * (var * n / (n - 1) - running_var)      n = the weights' sum
                                (var itself for `BiasedBatchNorm1d`, Keras's estimate)
    evaluation: y = (x - running_mean) / sqrt(running_var + eps);   then y * gamma + beta (affine)
    ```
    """
    first = modules[0]
    settings = {(m.momentum, m.eps, m.affine, m.track_running_stats) for m in modules}
    if len(settings) > 1 or first.momentum is None or not first.track_running_stats:
        raise NotStackable(f"layer {name!r}: batch norm needs one momentum and eps for all members, and running stats")
    momentum, eps = float(first.momentum), float(first.eps)
    biased = isinstance(first, BiasedBatchNorm1d)  # Keras's moving variance: the biased batch variance
    if len({held_in_eval(m) for m in modules}) > 1:
        raise NotStackable(f"layer {name!r}: batch norm is frozen in some members only")
    frozen = held_in_eval(first)  # transfer.freeze holds a frozen layer's batch norm in evaluation mode
    affine = first.affine

    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        gamma = p.tensors(f"{name}.weight") if affine else None  # (K, C)
        beta = p.tensors(f"{name}.bias") if affine else None
        mean_, var_ = p.tensors(f"{name}.running_mean"), p.tensors(f"{name}.running_var")  # (K, C)
        tracked = p.tensors(f"{name}.num_batches_tracked")  # (K,)
        if shared:
            x = _per_member(x, mean_.shape[0])
        if p.train and not frozen:  # x: (K, C, batch)
            if p.weight is None:
                n = x.shape[2]
                mu = x.mean(2, keepdim=True)  # (K, C, 1)
                var = (x - mu).square().mean(2, keepdim=True)
                unbiased = 1 if biased else n / max(n - 1, 1)
            else:
                n = p.weight.sum()
                # clamped: a data-parallel rank's shard of a short last batch can hold padding only
                # (train/distributed.py); its statistics then count for nothing and rank 0's are kept
                w = (p.weight / n.clamp_min(1)).view(1, 1, -1)  # (1, 1, batch)
                mu = (x * w).sum(2, keepdim=True)
                var = ((x - mu).square() * w).sum(2, keepdim=True)
                unbiased = 1 if biased else n / (n - 1).clamp_min(1)
            with torch.no_grad():
                new_mean = torch.lerp(mean_, mu.squeeze(2), momentum)
                new_var = torch.lerp(var_, var.squeeze(2) * unbiased, momentum)
                keep = p.active if p.active is not None else None
                mean_.copy_(new_mean if keep is None else torch.where(keep, new_mean, mean_))
                var_.copy_(new_var if keep is None else torch.where(keep, new_var, var_))
                tracked.add_(1 if keep is None else keep.view(-1).long())
            y = (x - mu) * torch.rsqrt(var + eps)
            return (y * gamma.unsqueeze(2) + beta.unsqueeze(2) if gamma is not None else y), False
        # torch's own kernel, the K members' channels as one (1, K * C, batch) input
        k, c, b = x.shape
        y = F.batch_norm(x.reshape(1, k * c, b), mean_.reshape(-1), var_.reshape(-1),
                         None if gamma is None else gamma.reshape(-1), None if beta is None else beta.reshape(-1),
                         training=False, eps=eps)
        return y.view(k, c, b), False

    return op


def _rates(rates: list[float], device: torch.device) -> Tensor:
    return torch.tensor(rates, device=device).view(-1, 1, 1)  # (K, 1, 1)


def _dropout(rates: list[float], device: torch.device) -> Op:
    """Inverted dropout per member (Srivastava et al. 2014): `x * m / (1 - p)`, `m ~ Bernoulli(1 - p)`."""
    same = len(set(rates)) == 1
    keep = 1 - _rates(rates, device)  # (K, 1, 1)

    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        if not p.train or (same and rates[0] == 0):
            return x, shared
        if same:
            return F.dropout(x, rates[0], training=True), shared
        x = _per_member(x, keep.shape[0]) if shared else x
        return x * (torch.rand_like(x) < keep) / keep, False

    return op


def _alpha_dropout(rates: list[float], device: torch.device) -> Op:
    """Alpha dropout per member (Klambauer et al. 2017), as `nn.AlphaDropout`:
    ```
    a = 1 / sqrt((ALPHA^2 p + 1)(1 - p))        m ~ Bernoulli(1 - p)
    y = a * m * x + ALPHA * a * (m - 1 + p)      dropped units go to a * ALPHA * (p - 1), SELU's saturation
    ```
    """
    same = len(set(rates)) == 1
    q = _rates(rates, device)
    a = 1 / ((ALPHA * ALPHA * q + 1) * (1 - q)).sqrt()
    keep, alpha_a = 1 - q, ALPHA * a

    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        if not p.train or (same and rates[0] == 0):
            return x, shared
        if same:
            return F.alpha_dropout(x, rates[0], training=True), shared
        x = _per_member(x, len(rates)) if shared else x
        m = (torch.rand_like(x) < keep).to(x.dtype)
        return a * m * x + alpha_a * (m - keep), False

    return op


def _prelu(weight: str) -> Op:
    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        slopes = p.tensors(weight)  # (K, units or 1)
        x = _per_member(x, slopes.shape[0]) if shared else x
        return torch.where(x >= 0, x, slopes.unsqueeze(2) * x), False

    return op


def _activation(modules: list[nn.Module], device: torch.device) -> Op:
    """One module for all members when they agree (the usual case); otherwise each member's own, selected
    per member (members that differ only in their activation still share the matrix products)."""
    kinds = [repr(m) for m in modules]
    if len(set(kinds)) == 1:
        module = modules[0]
        return lambda x, shared, p: (module(x), shared)
    distinct = list(dict.fromkeys(kinds))
    chosen = [(modules[kinds.index(d)], torch.tensor([k == d for k in kinds], device=device).view(-1, 1, 1))
              for d in distinct]  # (module, which members use it (K, 1, 1))

    def op(x: Tensor, shared: bool, p: Pass) -> tuple[Tensor, bool]:
        x = _per_member(x, len(kinds)) if shared else x
        y = chosen[0][0](x)
        for module, mask in chosen[1:]:
            y = torch.where(mask, module(x), y)
        return y, False

    return op
