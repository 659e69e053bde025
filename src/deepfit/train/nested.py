"""Nested state (dicts, lists, tensors, Python scalars) split into a JSON skeleton and a flat table of tensors.

Checkpoints store the table as safetensors and the skeleton as JSON, so reading one back never unpickles;
this module only converts, it does not touch files (train/checkpoint.py does).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

import torch

# A skeleton leaf that stands for something JSON has no type for is a one-key dict with one of these keys.
_TENSOR, _FLOAT, _BYTES, _TUPLE, _DICT = "$tensor", "$float", "$bytes", "$tuple", "$dict"
_TAGS = (_TENSOR, _FLOAT, _BYTES, _TUPLE, _DICT)
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def split_tensors(state: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Return (skeleton, tensors): `state` with every tensor replaced by `{"$tensor": path}`, and the tensors
    by path, each a contiguous CPU copy.

    A path is a JSON Pointer (RFC 6901) to the tensor's place in `state`, e.g. `/members/0/callbacks/...`, so
    the safetensors file names each tensor by where it belongs. Non-finite floats, bytes (base64), tuples and
    dicts whose keys look like tags are tagged too, so `join_tensors` gives back an equal structure.

    Raises:
        TypeError: a value of another type, or a dict key that is not a string (a bug in a `state_dict`).
    """
    tensors: dict[str, torch.Tensor] = {}
    return _split(state, "", tensors), tensors


def join_tensors(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The nested state that `split_tensors` split into `skeleton` and `tensors`.

    Raises:
        ValueError: the skeleton is malformed or names a tensor that `tensors` lacks (a damaged file).
    """
    return _join(skeleton, tensors)


def _split(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().to("cpu", copy=True).contiguous()  # no shared storage: safetensors refuses it
        return {_TENSOR: path}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_FLOAT: repr(value)}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        items = [_split(v, f"{path}/{i}", tensors) for i, v in enumerate(value)]
        return {_TUPLE: items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"state at {path or '/'}: dict key {key!r} is not a string")
        items = {k: _split(v, f"{path}/{_escape(k)}", tensors) for k, v in value.items()}
        return {_DICT: items} if any(k in _TAGS for k in value) else items
    raise TypeError(f"state at {path or '/'}: cannot store a {type(value).__name__} (tensors and plain values only)")


def _join(node: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_join(v, tensors) for v in node]
    if not isinstance(node, dict):
        raise ValueError(f"unexpected {type(node).__name__} in the state")
    tag = next(iter(node)) if len(node) == 1 and next(iter(node)) in _TAGS else None
    if tag is None:
        return {k: _join(v, tensors) for k, v in node.items()}
    body = node[tag]
    if tag == _TENSOR:
        if not isinstance(body, str) or body not in tensors:
            raise ValueError(f"the state names a tensor {body!r} that the tensor file lacks")
        return tensors[body]
    if tag == _FLOAT and body in _NONFINITE:
        return _NONFINITE[body]
    if tag == _BYTES and isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise ValueError(f"bad base64 bytes in the state ({exc})") from None
    if tag == _TUPLE and isinstance(body, list):
        return tuple(_join(v, tensors) for v in body)
    if tag == _DICT and isinstance(body, dict):
        return {k: _join(v, tensors) for k, v in body.items()}
    raise ValueError(f"malformed {tag} entry in the state: {body!r:.80}")


def _escape(key: str) -> str:
    """A key as one JSON Pointer reference token (RFC 6901: `~` as `~0`, `/` as `~1`)."""
    return key.replace("~", "~0").replace("/", "~1")
