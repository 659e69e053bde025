"""Export a run's model as one inference graph (ONNX or TorchScript) that takes raw inputs.

The graph does what `deepfit predict` does around the network: uint8 pixels scaled to [0, 1], the run's
standardisation, batch norm folded, no dropout, and the objective's output (probabilities). It is an
inference format: nothing in it can be fine-tuned or resumed (that is what `checkpoint/` is for).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from deepfit.atomic import atomic_path
from deepfit.errors import ConfigError, MissingDependencyError
from deepfit.nn import fold_batchnorm, load_model
from deepfit.registry import Registry
from deepfit.run.rundir import existing_run_dir
from deepfit.run.training import load_run_config
from deepfit.train import objective_for

Tensor = torch.Tensor

INPUT_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}
PIXEL_SCALE = 1.0 / 255.0  # deepfit's loaders divide uint8 pixels by 255 before standardising (data/splits.py)


class InferenceModel(nn.Module):
    """Raw inputs -> float32 -> `x * scale + shift` -> network -> output transform, in one module.

    `scale` and `shift` fold the pixel scaling and the standardisation into one per-feature affine map:
    ```
    (x * pixel_scale - mean) / std  =  x * (pixel_scale / std) + (-mean / std)
    ```
    computed in float64 and stored as float32. `output` maps the network's outputs to what `deepfit predict`
    writes (softmax probabilities, a sigmoid probability, a regression value), or is None for raw outputs.
    """

    def __init__(
        self,
        net: nn.Module,
        input_shape: tuple[int, ...],
        *,
        pixel_scale: float = 1.0,
        mean: Tensor | None = None,
        std: Tensor | None = None,
        output: Callable[[Tensor], Tensor] | None = None,
        input_dtype: str = "float32",
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)  # one sample's shape, without the batch dimension
        self.input_dtype = input_dtype  # what the exported graph takes (a key of INPUT_DTYPES)
        in_features = math.prod(self.input_shape)
        mean64 = torch.zeros(in_features, dtype=torch.float64) if mean is None else mean.double().reshape(-1)
        std64 = torch.ones(in_features, dtype=torch.float64) if std is None else std.double().reshape(-1)
        self.register_buffer("scale", (pixel_scale / std64).float())  # (features,)
        self.register_buffer("shift", (-mean64 / std64).float())  # (features,)
        self.net = net
        self.output = output

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(torch.float32).flatten(1)  # (batch, features)
        z = self.net((x * self.scale + self.shift).reshape(-1, *self.input_shape))  # (batch, outputs)
        return z if self.output is None else self.output(z)


def recorded_input_dtype(meta: dict) -> str:
    """The input dtype an export takes by default: uint8 when the run trained on uint8 pixels (model.json's
    `input_dtype`), else float32 (other inputs, and runs saved before deepfit recorded it)."""
    return "uint8" if meta.get("input_dtype") == "uint8" else "float32"


def run_input_dtype(run_dir: str | Path) -> str:
    """`recorded_input_dtype` of the run in `run_dir`."""
    return recorded_input_dtype(load_model(existing_run_dir(run_dir))[2])


def inference_model(run_dir: str | Path, *, input_dtype: str | None = None, logits: bool = False) -> InferenceModel:
    """The run's model as an `InferenceModel` in evaluation mode, batch norm folded (`fold_batchnorm`).

    Args:
        input_dtype: "float32" takes inputs as `deepfit predict` takes float arrays (no pixel scaling);
            "uint8" takes raw pixels 0-255 and scales them by 1/255 first, as deepfit's loaders do. None (the
            default) takes the inputs as the run's training file held them (`recorded_input_dtype`).
        logits: output the network's raw outputs instead of the objective's probabilities.

    Raises:
        CheckpointError: `run_dir` is not a run directory or its model files are missing or damaged.
        ConfigError: `input_dtype` is not one of float32, uint8.
    """
    if input_dtype is not None and input_dtype not in INPUT_DTYPES:
        raise ConfigError(f"--input-dtype: expected one of {', '.join(INPUT_DTYPES)}, got {input_dtype!r}")
    run_dir = existing_run_dir(run_dir)
    cfg = load_run_config(run_dir)
    model, spec, meta, extra = load_model(run_dir)
    input_dtype = input_dtype or recorded_input_dtype(meta)
    objective = objective_for(meta.get("task", cfg.train.loss), cfg.data.task)
    module = InferenceModel(
        fold_batchnorm(model),
        spec.input_shape,
        pixel_scale=PIXEL_SCALE if input_dtype == "uint8" else 1.0,
        mean=extra.get("mean"),
        std=extra.get("std"),
        output=None if logits else objective.output,
        input_dtype=input_dtype,
    )
    return module.eval()


@dataclass(frozen=True)
class ExportFormat:
    """How to write one format: the file suffix and `write(module, example_input, path)`."""

    suffix: str
    write: Callable[[nn.Module, Tensor, Path], None]
    needs: tuple[str, ...] = ()  # importable modules the writer needs (the `export` extra)


EXPORT_FORMATS: Registry[ExportFormat] = Registry("export format")


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporters' chatter (deprecation notices, torchvision-op warnings): the CLI prints the result."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def _write_onnx(module: nn.Module, example: Tensor, path: Path) -> None:
    batch = torch.export.Dim("batch")
    with _quiet_exporter():
        program = torch.onnx.export(
            module, (example,), input_names=["x"], output_names=["y"], dynamic_shapes=({0: batch},),
            dynamo=True, verbose=False,
        )
        program.save(str(path))


def _write_torchscript(module: nn.Module, example: Tensor, path: Path) -> None:
    # Tracing, not scripting: the output transform is a plain function and the folded net has no control flow.
    with _quiet_exporter():
        traced = torch.jit.trace(module, (example,))
        traced.save(str(path))


@EXPORT_FORMATS.register("onnx", summary="ONNX graph through torch.export; run it with onnxruntime")
def onnx_format() -> ExportFormat:
    return ExportFormat(".onnx", _write_onnx, needs=("onnx", "onnxscript"))


@EXPORT_FORMATS.register("torchscript", summary="TorchScript by tracing; load with torch.jit.load", aliases=("jit",))
def torchscript_format() -> ExportFormat:
    return ExportFormat(".pt", _write_torchscript)


def export_run(
    run_dir: str | Path,
    format: str = "onnx",
    out: str | Path | None = None,
    *,
    input_dtype: str | None = None,
    logits: bool = False,
) -> Path:
    """Write the run's inference graph (see `inference_model`; `input_dtype` None: the run's recorded one) in
    `format` and return the file's path.

    The default file is `<run_dir>/model<suffix>` (model.onnx, model.pt). The batch dimension stays
    dynamic; the sample shape is the run's. The file is written atomically.

    Raises:
        ConfigError: unknown format or input dtype.
        CheckpointError: `run_dir` is not a run directory or its model is missing or damaged.
        MissingDependencyError: the format needs a package that is not installed.
        OutputError: `out` cannot be written.
    """
    fmt = EXPORT_FORMATS.build(format)
    missing = [name for name in fmt.needs if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"export format {format!r} needs {', '.join(missing)}: pip install 'deepfit[export]'"
        )
    module = inference_model(run_dir, input_dtype=input_dtype, logits=logits)
    # Two samples: torch.export specialises a batch of one to the constant 1.
    example = torch.zeros((2, *module.input_shape), dtype=INPUT_DTYPES[module.input_dtype])
    path = Path(out) if out is not None else Path(run_dir) / f"model{fmt.suffix}"
    with atomic_path(path) as tmp, torch.no_grad():
        fmt.write(module, example, tmp)
    return path
