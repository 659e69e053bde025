"""Fuzz tests of every parser a user feeds: any input gives a valid result or a `DeepfitError`, nothing else.

Each draws from arbitrary bytes or text and from near-valid inputs (a well-formed file with one part
changed), since random bytes alone seldom get past a header. Sizes stay small, so the whole file runs
in seconds.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepfit.config import RunConfig, apply_overrides, config_from_dict, load_config
from deepfit.data import load_data
from deepfit.data.idx import read_idx
from deepfit.data.tabular import csv_table, npz
from deepfit.errors import DeepfitError
from deepfit.nn import ModelSpec, build_model, load_model, save_model

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _outcome(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The call's result, or None when it raised a `DeepfitError`; any other exception fails the test."""
    try:
        return call(*args, **kwargs)
    except DeepfitError as exc:
        assert str(exc), "a DeepfitError needs a message"
        return None


# -- IDX ------------------------------------------------------------------------------------------------

@st.composite
def idx_bytes(draw: st.DrawFn) -> bytes:
    """An IDX file of a small random array, then perhaps truncated, extended, a byte changed or gzipped."""
    dtype = draw(st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]))
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    raw = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 255, math.prod(shape) * 8, dtype=np.uint8)
    array = np.frombuffer(raw.tobytes()[: math.prod(shape) * np.dtype(dtype).itemsize], dtype=dtype).reshape(shape)
    header = bytes([0, 0, {"u1": 8, "i1": 9, "i2": 11, "i4": 12, "f4": 13, "f8": 14}[dtype], len(shape)])
    data = bytearray(header + np.asarray(shape, ">u4").tobytes() + array.astype(">" + dtype).tobytes())
    change = draw(st.sampled_from(["none", "truncate", "extend", "flip", "dims"]))
    if change == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)):]
    elif change == "extend":
        data += draw(st.binary(min_size=1, max_size=16))
    elif change == "flip":
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    elif change == "dims":
        data[3] = draw(st.integers(0, 255))
    out = bytes(data)
    if draw(st.booleans()):
        out = gzip.compress(out, mtime=0)
        if draw(st.booleans()):
            out = out[: draw(st.integers(0, len(out)))]
    return out


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), idx_bytes()))
def test_idx_reader_gives_an_array_or_a_data_error(scratch, data):
    path = scratch / "f-idx1-ubyte"
    path.write_bytes(data)
    array = _outcome(read_idx, path)
    if array is not None:
        assert isinstance(array, np.ndarray) and array.ndim >= 1 and array.flags.writeable


# -- CSV --------------------------------------------------------------------------------------------------

_CSV_TEXT = st.text(alphabet=st.sampled_from([*"0123456789.-+e,\n\r \"'labxnifNA\t;", "é", "\x00"]),
                    max_size=120)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """Text of CSV-like characters, arbitrary bytes, or a small numeric table in some encoding."""
    kind = draw(st.sampled_from(["text", "binary", "table"]))
    if kind == "binary":
        return draw(st.binary(max_size=120))
    if kind == "text":
        return draw(_CSV_TEXT).encode(draw(st.sampled_from(["utf-8", "latin-1", "utf-16"])), errors="replace")
    rows, cols = draw(st.integers(0, 6)), draw(st.integers(1, 4))
    cell = st.one_of(st.integers(-3, 5).map(str), st.floats(allow_nan=True).map(repr), _CSV_TEXT.map(lambda t: t[:4]))
    lines = [",".join(draw(st.sampled_from(["label", "a", "b", "c", ""])) for _ in range(cols))]
    lines += [",".join(draw(cell) for _ in range(cols)) for _ in range(rows)]
    return "\n".join(lines).encode()


@FUZZ
@given(data=csv_bytes(), task=st.sampled_from(["multiclass", "binary", "regression"]))
def test_csv_loader_gives_a_dataset_or_a_deepfit_error(scratch, data, task):
    path = scratch / "t.csv"
    path.write_bytes(data)
    raw = _outcome(csv_table, path)
    if raw is not None:
        assert raw.x_train.ndim == 2 and len(raw.x_train) == len(raw.y_train)
    splits = _outcome(load_data, "csv", path=path, valid=0, task=task)
    if splits is not None:
        assert len(splits.train) == len(raw.x_train) and torch.isfinite(splits.train.x).all()


# -- npz --------------------------------------------------------------------------------------------------

_ARRAYS = st.one_of(
    st.lists(st.integers(-2, 3), min_size=0, max_size=6).map(np.array),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=6).map(np.array),
    st.lists(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), max_size=6).map(np.array),
    st.lists(st.integers(0, 255), min_size=4, max_size=24).map(lambda v: np.array(v, np.uint8).reshape(-1, 2, 2)
                                                                  if len(v) % 4 == 0 else np.array(v, np.uint8)),
    st.lists(st.text(max_size=3), max_size=4).map(lambda v: np.array(v, dtype=str)),
    st.sampled_from([np.array([1e9, 0]), np.array([True, False]), np.array([1 + 2j]), np.zeros((0, 3)),
                     np.zeros((2, 0)), np.float64(3.0), np.array([[0.5], [1.5]])]),
)


@st.composite
def npz_bytes(draw: st.DrawFn) -> bytes:
    """An .npz archive of small random arrays under the expected (or other) names, or arbitrary bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    names = draw(st.lists(st.sampled_from(["x_train", "y_train", "x_test", "y_test", "class_names", "other"]),
                          unique=True, max_size=5))
    buf = io.BytesIO()
    np.savez(buf, **{n: draw(_ARRAYS) for n in names})
    data = buf.getvalue()
    if draw(st.booleans()) and data:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _object_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x_train=np.array([{"a": 1}], dtype=object), y_train=np.array([0]))
    return buf.getvalue()


@FUZZ
@given(data=st.one_of(npz_bytes(), st.just(_object_npz())), task=st.sampled_from(["multiclass", "binary"]))
def test_npz_loader_gives_a_dataset_or_a_deepfit_error(scratch, data, task):
    path = scratch / "d.npz"
    path.write_bytes(data)
    raw = _outcome(npz, path)
    if raw is not None:
        assert all(a is None or (isinstance(a, np.ndarray) and a.dtype != object) for a in raw[:4])
    splits = _outcome(load_data, "npz", path=path, valid=0, task=task)
    if splits is not None:
        assert len(splits.train) == len(raw.x_train) and torch.isfinite(splits.train.x).all()


# -- TOML config files and --set values -------------------------------------------------------------------

def _dotted_keys(model: type = RunConfig, prefix: str = "") -> list[str]:
    """Every config key as `section.key`, from the pydantic models themselves."""
    keys = []
    for name, f in model.model_fields.items():
        sub = next((c for c in (f.annotation, *getattr(f.annotation, "__args__", ()))
                    if isinstance(c, type) and hasattr(c, "model_fields")), None)
        keys += _dotted_keys(sub, f"{prefix}{name}.") if sub is not None else [f"{prefix}{name}"]
    return keys


KEYS = [*_dotted_keys(), "optimizer.momentum", "optimizer.betas", "optimizer.nesterov", "optimizer.weight_decay",
        "optimizer.learning_rate", "optimizer.beta_1", "optimizer.decay", "schedule.s", "schedule.factor",
        "schedule.boundaries", "regularization.penalty.l2", "train", "nokey"]
_SCALARS = st.one_of(
    st.booleans(), st.integers(-5, 400), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 0.0, -1.0, 0.5, 1.5, 1e300, 2**64]),
    st.sampled_from(["relu", "selu", "nadam", "sgd", "auto", "none", "before", "step", "l2", "all", "cpu", "",
                     "exponential", "he_normal", "alpha", "multiclass", "cuda:7", "performance"]),
    st.text(max_size=8), st.dates(), st.times(),
)
TOML_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(["name", "l2", "max_value", "s", "x"]), inner,
                                             max_size=2), max_leaves=6)


EDGE_VALUES = [math.inf, -math.inf, math.nan, 0, -1, 2**64, 1e300, 0.5, 1.5, True, "", "x", [], [0], [2**64],
               [math.inf], {}, {"name": "x"}, datetime.date(2024, 1, 1)]


def test_every_key_with_each_edge_value_gives_a_config_or_a_config_error():
    outcomes = [_outcome(config_from_dict, apply_overrides({}, [(k.split("."), v)])) for k in KEYS for v in EDGE_VALUES]
    assert any(outcomes) and not all(outcomes)


@FUZZ
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_config_file_of_any_bytes_gives_a_config_or_a_config_error(scratch, data):
    path = scratch / "c.toml"
    path.write_bytes(data)
    cfg = _outcome(load_config, path)
    assert cfg is None or isinstance(cfg, RunConfig)


@FUZZ
@given(settings_=st.lists(st.tuples(st.sampled_from(KEYS), TOML_VALUES), max_size=4))
def test_config_of_any_values_gives_a_config_or_a_config_error(settings_):
    data = _outcome(apply_overrides, {}, [(k.split("."), v) for k, v in settings_])
    cfg = None if data is None else _outcome(config_from_dict, data)
    assert cfg is None or isinstance(cfg, RunConfig)


@FUZZ
@given(key=st.sampled_from([*KEYS, "", ".", "a..b"]), text=st.text(max_size=40))
def test_set_value_of_any_text_gives_a_config_or_a_config_error(key, text):
    cfg = _outcome(load_config, None, [f"{key}={text}", text])
    assert cfg is None or isinstance(cfg, RunConfig)


# -- model.json -------------------------------------------------------------------------------------------

_SPEC_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 12), st.floats(allow_nan=True), st.text(max_size=6),
              st.sampled_from(["relu", "selu", "he_normal", "before", "alpha", "orthogonal", "auto"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["name", "hidden1", "x"]), inner,
                                                                max_size=2),
    max_leaves=5,
)  # small numbers only: a network of 10**9 units would allocate before anything can refuse it


@pytest.fixture(scope="module")
def saved_model(scratch: Path) -> Path:
    spec = ModelSpec(input_shape=(2, 3), num_outputs=3, hidden=[4])
    save_model(build_model(spec), spec, scratch / "model", extra={"task": "cross_entropy"},
               tensors={"mean": torch.zeros(2, 3), "std": torch.ones(2, 3)})
    return scratch / "model"


@st.composite
def model_json(draw: st.DrawFn, meta: dict[str, Any]) -> bytes:
    """A saved model's model.json with fields replaced, added or removed; arbitrary JSON; or arbitrary bytes."""
    kind = draw(st.sampled_from(["mutate", "mutate", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=100))
    if kind == "json":
        return json.dumps(draw(_SPEC_VALUES)).encode()
    meta = json.loads(json.dumps(meta))
    for _ in range(draw(st.integers(1, 3))):
        spec = meta.get("spec")
        target = spec if isinstance(spec, dict) and draw(st.booleans()) else meta
        key = draw(st.sampled_from([*target, "extra_key"]))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(_SPEC_VALUES)
    return json.dumps(meta).encode()


@FUZZ
@given(data=st.data())
def test_model_json_gives_a_model_or_a_checkpoint_error(saved_model, data):
    meta = json.loads((saved_model / "model.json").read_text())
    fuzzed = saved_model.parent / "fuzzed"
    fuzzed.mkdir(exist_ok=True)
    (fuzzed / "model.safetensors").write_bytes((saved_model / "model.safetensors").read_bytes())
    (fuzzed / "model.json").write_bytes(data.draw(model_json(meta)))
    loaded = _outcome(load_model, fuzzed)
    if loaded is not None:
        model, spec, _meta, _extra = loaded
        assert isinstance(model, torch.nn.Module) and isinstance(spec, ModelSpec)


@FUZZ
@given(data=st.binary(max_size=200))
def test_model_weights_of_any_bytes_give_a_checkpoint_error(saved_model, data):
    fuzzed = saved_model.parent / "weights"
    fuzzed.mkdir(exist_ok=True)
    (fuzzed / "model.json").write_bytes((saved_model / "model.json").read_bytes())
    (fuzzed / "model.safetensors").write_bytes(data)
    assert _outcome(load_model, fuzzed) is None


# -- what the fuzzing found, kept as examples with their messages -------------------------------------------

def _npz_with_scalar_class_names(path: Path) -> None:
    np.savez(path, x_train=np.zeros((2, 3)), y_train=np.array([0, 1]), class_names=np.float64(3.0))


@pytest.mark.parametrize(
    ("name", "write", "load", "message"),
    [
        ("t.csv", lambda p: p.write_bytes(b"label,a\n\x80,1\n"), lambda p: csv_table(p), "not UTF-8 text"),
        ("c.toml", lambda p: p.write_bytes(b"\x80"), lambda p: load_config(p), "is not UTF-8 text"),
        ("d.npz", _npz_with_scalar_class_names, lambda p: npz(p), r"class_names must be a 1-D array .* shape \(\)"),
    ],
)
def test_inputs_the_fuzzing_found_are_clear_errors(tmp_path, name, write, load, message):
    path = tmp_path / name
    write(path)
    with pytest.raises(DeepfitError, match=message):
        load(path)


def test_infinite_validation_split_is_a_config_error():
    with pytest.raises(DeepfitError, match=r"config: data\.valid: expected a finite number, got inf"):
        config_from_dict({"data": {"valid": math.inf}})


@pytest.mark.parametrize(("meta", "message"), [
    ("null", "format 'a JSON NoneType', expected 'deepfit.model'"),
    ('{"format": "deepfit.model", "spec": {"input_shape": 3}}', "cannot be built .*TypeError"),
    ('{"format": "deepfit.model", "spec": {"input_shape": [3], "num_outputs": 0}}', "num_outputs must be >= 1"),
])
def test_model_json_that_cannot_be_built_is_a_checkpoint_error(saved_model, tmp_path, meta, message):
    (tmp_path / "model.safetensors").write_bytes((saved_model / "model.safetensors").read_bytes())
    (tmp_path / "model.json").write_text(meta)
    with pytest.raises(DeepfitError, match=message):
        load_model(tmp_path)
