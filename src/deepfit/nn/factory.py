"""Networks from the user's own code: a factory `build(input_shape, num_outputs, **options)` named as
`path/to/file.py:build` or `package.module:build`, and the record (`FactorySpec`) that rebuilds it without pickle.

A run keeps a copy of the factory's source file (`model_source/<file>.py`); a file factory is rebuilt from
that copy, so a saved run does not depend on the original file, while a module factory is imported by name.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from deepfit.atomic import write_text_atomic
from deepfit.errors import ConfigError, ShapeError

SOURCE_DIR = "model_source"  # where a saved model keeps its factory's source file, beside model.json
REFERENCE_FORM = "'path/to/file.py:function' or 'package.module:function'"
_CHECK_BATCH = 2  # samples in the dummy batch that checks the output shape (2: batch norm needs more than one)


@dataclass
class FactorySpec:
    """Everything needed to rebuild a factory's network: stored as `model.json`'s spec.

    `source` is the path of the copy of the factory's file, relative to the saved model's directory
    (None until the model is saved); `source_text` is that file's text, which every save writes again.
    """

    input_shape: tuple[int, ...]
    num_outputs: int
    factory: str
    options: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    source_text: str | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"input_shape": list(self.input_shape), "num_outputs": self.num_outputs, "factory": self.factory,
                "options": dict(self.options), "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FactorySpec:
        known = {"input_shape", "num_outputs", "factory", "options", "source"}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"model spec: unknown keys {sorted(unknown)}; valid: {sorted(known)}")
        return cls(tuple(d["input_shape"]), int(d["num_outputs"]), str(d["factory"]), dict(d.get("options") or {}),
                   d.get("source"))

    @property
    def is_file(self) -> bool:
        """True for a `file.py:function` reference, False for `package.module:function`."""
        return is_file_reference(self.factory)


def parse_reference(ref: str) -> tuple[str, str]:
    """(`file.py` or `package.module`, function name) of a factory reference `WHERE:FUNCTION`.

    Raises:
        ConfigError: `ref` is not of the form `path/to/file.py:build` or `package.module:build`.
    """
    where, sep, name = ref.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ConfigError(f"model.factory: expected {REFERENCE_FORM}, got {ref!r}")
    return where, name


def is_reference(ref: str) -> bool:
    """True when `ref` has the form of a factory reference (`parse_reference` accepts it)."""
    try:
        parse_reference(ref)
    except ConfigError:
        return False
    return True


def is_file_reference(ref: str) -> bool:
    where, _ = parse_reference(ref)
    return where.endswith(".py") or "/" in where or "\\" in where


def factory_spec(
    ref: str, input_shape: tuple[int, ...], num_outputs: int, options: dict[str, Any] | None = None,
    *, directory: Path | None = None,
) -> FactorySpec:
    """The spec of factory `ref` for this data, with its source file's text read once, to be copied on save.

    With `directory` (a saved run's), a file factory is read from the copy there, as a resumed run must.

    Raises:
        ConfigError: the file, module or function is missing (see `load_factory`).
    """
    spec = FactorySpec(tuple(input_shape), int(num_outputs), ref, dict(options or {}))
    if directory is not None:
        spec.source = source_name(ref)
    spec.source_text = source_text(spec, directory)
    return spec


def source_name(ref: str) -> str:
    """Where a saved model keeps the source of factory `ref`, relative to its directory."""
    where, _ = parse_reference(ref)
    name = Path(where).name if is_file_reference(ref) else where.rsplit(".", 1)[-1] + ".py"
    return f"{SOURCE_DIR}/{name}"


def save_source(spec: FactorySpec, directory: Path) -> FactorySpec:
    """Write `spec`'s source text to `directory`/model_source/ (atomically) and return the spec recording it."""
    if spec.source_text is None:
        return spec
    saved = dataclasses.replace(spec, source=source_name(spec.factory))
    write_text_atomic(Path(directory) / saved.source, spec.source_text)
    return saved


def source_text(spec: FactorySpec, directory: Path | None = None) -> str | None:
    """The text of `spec`'s source file: the copy in `directory` when it has one, else the original file
    (None for a module whose source cannot be found, such as a compiled extension)."""
    path = _file_of(spec, directory)
    if path is None:
        module = _import_module(spec.factory)
        found = inspect.getsourcefile(module)
        path = Path(found) if found else None
    if path is None:
        return None
    try:
        return _existing(path, spec.factory).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"model.factory {spec.factory!r}: cannot read {path} ({exc})") from None


def _file_of(spec: FactorySpec, directory: Path | None) -> Path | None:
    """The file a file factory is loaded from: the saved copy in `directory`, else the reference's file."""
    if not spec.is_file:
        return None
    if directory is not None and spec.source is not None:
        return Path(directory) / spec.source
    return Path(parse_reference(spec.factory)[0]).expanduser()


def load_factory(spec: FactorySpec, directory: Path | None = None) -> Callable[..., Any]:
    """The factory function of `spec`, from its file (the copy in `directory` when given) or module.

    Raises:
        ConfigError: the file or module is missing or fails to import, or it has no such function.
    """
    _, name = parse_reference(spec.factory)
    path = _file_of(spec, directory)
    module = _import_file(path, spec.factory) if path is not None else _import_module(spec.factory)
    fn = getattr(module, name, None)
    if not callable(fn):
        where = path if path is not None else module.__name__
        defined = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_"))
        near = difflib.get_close_matches(name, defined, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(f"model.factory {spec.factory!r}: {where} has no function {name!r}{hint} "
                          f"functions defined there: {', '.join(defined) or 'none'}")
    return fn


def _existing(path: Path, ref: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"model.factory {ref!r}: file {path} not found; expected a Python file defining the "
                          "factory (path/to/file.py:function, relative to the config file in one, else to the current "
                          "directory)")
    return path


def _import_file(path: Path, ref: str) -> ModuleType:
    _existing(path, ref)
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"deepfit_factory_{digest}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"model.factory {ref!r}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and torch.compile look a module up by name while it runs
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error it raises is theirs to fix
        sys.modules.pop(name, None)
        raise ConfigError(f"model.factory {ref!r}: importing {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def _import_module(ref: str) -> ModuleType:
    where, _ = parse_reference(ref)
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"model.factory {ref!r}: no module named {exc.name!r}; install it or add its folder "
                          "to PYTHONPATH, or name a file: path/to/file.py:function") from None
    except Exception as exc:
        raise ConfigError(f"model.factory {ref!r}: importing {where} failed: {type(exc).__name__}: {exc}") from None


def build_factory_model(spec: FactorySpec, directory: Path | None = None) -> nn.Module:
    """Call `spec`'s factory as `fn(input_shape, num_outputs, **options)` and check the network it returns.

    Raises:
        ConfigError: the factory cannot be found or called, or does not return an `nn.Module`.
        ShapeError: the network fails on a dummy batch, or does not give `num_outputs` outputs per sample.
    """
    fn = load_factory(spec, directory)
    call = f"{spec.factory}(input_shape={spec.input_shape}, num_outputs={spec.num_outputs}" + "".join(
        f", {k}={v!r}" for k, v in spec.options.items()) + ")"
    try:
        model = fn(tuple(spec.input_shape), spec.num_outputs, **spec.options)
    except Exception as exc:  # the user's code
        raise ConfigError(f"model.factory: {call} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model.factory: {call} returned a {type(model).__name__}, expected a torch.nn.Module")
    check_outputs(model, spec.input_shape, spec.num_outputs, what=f"model.factory {spec.factory!r}")
    return model


def check_outputs(model: nn.Module, input_shape: tuple[int, ...], num_outputs: int, *, what: str = "model") -> None:
    """Run `model` on a dummy batch of zeros in evaluation mode and check it gives (batch, num_outputs).

    Evaluation mode leaves batch-norm statistics untouched; the model's own mode is put back afterwards.
    """
    x = torch.zeros(_CHECK_BATCH, *input_shape)  # (batch, *input_shape)
    modes = [(m, m.training) for m in model.modules()]
    try:
        with torch.no_grad():
            out = model.eval()(x)
    except Exception as exc:  # the user's network
        raise ShapeError(f"{what}: a batch of shape {tuple(x.shape)} (the data's samples) fails in the "
                         f"model's forward: {type(exc).__name__}: {exc}") from None
    finally:
        for m, training in modes:  # parents first: each call then fixes what its parent's call set
            m.train(training)
    expected = (_CHECK_BATCH, num_outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        found = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
        raise ShapeError(f"{what}: for a batch of shape {tuple(x.shape)} the model returns {found}, expected "
                         f"{expected}: one output per class ({num_outputs}, or 1 for binary and regression)")
