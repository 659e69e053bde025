"""Validated run configuration: TOML and CLI flags in, one `RunConfig` out; errors name the field.

This is the edge. Code below `train/` takes plain typed arguments, and only the keys a user set are passed
on, so each hyperparameter's default lives in one place: the signature of the function that uses it.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
import tomllib
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from deepfit import names
from deepfit.config_paths import absolute_paths
from deepfit.conventions import apply_keras, keras_enabled
from deepfit.errors import ConfigError
from deepfit.registry import Names

# torch is not imported here: names are checked against deepfit/names.py, and the checks that build a component
# (an optimizer's hyperparameters, a penalty's factors, a factory reference) import their module when they run,
# after everything else has passed (`config_from_dict`), so that a typo is reported before torch loads.
_BEFORE_TORCH = "before_torch"  # validation context key: skip the checks that import torch


def _before_torch(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_BEFORE_TORCH))


def _known(vocabulary: Names, spec: Any, *, allow: tuple[str, ...] = ()) -> Any:
    """Check a name (or `{name=...}` table) against its family's names, so typos fail before any data loads."""
    name = spec.get("name") if isinstance(spec, dict) else spec
    if name in allow:
        return spec
    try:
        vocabulary.canonical(name)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return spec


# Keras spellings accepted at the edge and normalised once (STYLE 3.2).
_KERAS_OPTIMIZER_KEYS = {
    "learning_rate": "lr",
    "epsilon": "eps",
    "learning_rate_power": "lr_power",
}
# The spellings of one optimizer setting: a layer (file, --set) that gives one replaces a lower layer's others.
_SPELLINGS = [{keras, torch_name} for keras, torch_name in _KERAS_OPTIMIZER_KEYS.items()] + [
    {"betas", "beta_1", "beta_2"}
]


def _first_non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """The dotted path and value of the first NaN or infinite number in `value` (nested dicts and lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next((found for p, v in items if (found := _first_non_finite(v, p)) is not None), None)


def _finite(value: Any, path: str = "") -> Any:
    """`value` unchanged; a NaN or infinite number anywhere in it is a `ValueError` naming where.

    Hyperparameters are read as TOML floats, which include `inf` and `nan`; a run with lr = inf trains to
    NaN and reports an accuracy, so such values stop here.
    """
    found = _first_non_finite(value, path)
    if found is not None:
        where, number = found
        raise ValueError(f"{where + ': ' if where else ''}expected a finite number, got {number}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DataConfig(_Section):
    name: str = Field("fashion_mnist", description="dataset: fashion_mnist, idx, npz, csv, npy or images")
    dir: str | None = Field(None, description="directory holding the dataset files (fashion_mnist, idx, images)")
    path: str | None = Field(None, description="dataset file (npz, csv; npy: the features file)")
    subset: int | None = Field(None, ge=1, description="keep only the first N training samples")
    valid: int | float | None = Field(
        None,
        ge=0,
        description='validation split: a count, a fraction < 1, or None / "auto": the dataset\'s own (the first '
        "5,000 of Fashion-MNIST and its tasks), else 10% of the samples (at least one per class)",
    )
    test: int | float | None = Field(
        None, ge=0, description='test split held out of data without a test part: a count, a fraction < 1, 0 for '
        'none, or None / "auto": 10% of the samples (at least one per class)',
    )
    split: Literal["stratified", "random", "first"] | None = Field(
        None, description="how validation and test splits are drawn: stratified by class with the seed (default), "
        "random (regression's default), or first (the first rows; Fashion-MNIST's and its tasks' default)",
    )
    standardize: bool = Field(True, description="standardise features with training-split statistics")
    task: Literal["multiclass", "binary", "regression"] = "multiclass"
    label_column: str | None = Field(None, description="label column of a CSV file")
    labels: str | None = Field(None, description="labels file of an npy features file (default: x -> y in its name)")
    image_size: list[int] | None = Field(
        None, min_length=2, max_length=2, description="images: [height, width] to resize to (default: the images' own)"
    )
    channels: Literal[1, 3] | None = Field(None, description="images: 1 (grayscale) or 3 (RGB); default: the files'")
    options: dict[str, Any] = Field(
        default_factory=dict, description="parameters of the dataset source, e.g. {sample_seed = 1} for fashion_mnist_b"
    )

    @field_validator("valid", "test", mode="before")
    @classmethod
    def _auto_or_finite(cls, v: Any) -> Any:
        if v == "auto":
            return None
        if isinstance(v, bool) or (isinstance(v, float) and not math.isfinite(v)):
            raise ValueError(f'expected "auto", a sample count or a fraction in (0, 1), got {v!r}')
        return v

    @field_validator("valid", "test")
    @classmethod
    def _valid_count_or_fraction(cls, v: float | None) -> float | None:
        if v is None:
            return None
        if v >= 1 and v != int(v):
            raise ValueError(f"a count (integer) or a fraction in (0, 1), got {v}")
        return int(v) if v >= 1 else v


class ModelConfig(_Section):
    """The dense network; what is left out takes `deepfit.nn.ModelSpec`'s default (its one home). Or, with
    `factory`, the user's own network (`deepfit.nn.FactorySpec`), which no dense-network key applies to."""

    hidden: list[int] | None = Field(None, description="units of each hidden dense layer, bottom first (300, 100)")
    activation: str | dict[str, Any] | None = Field(None, description="activation name or {name=..., params} (relu)")
    init: str | dict[str, Any] | None = Field(None, description="kernel initializer name or {name=...} (he_normal)")
    norm: Literal["none", "before", "after"] | None = Field(None, description="batch norm per dense block (none)")
    dropout: float | list[float] | None = Field(
        None, description="dropout rate after each hidden block, or a list with one rate per block (0)"
    )
    input_dropout: float | None = Field(None, ge=0.0, lt=1.0, description="dropout rate on the inputs (0)")
    dropout_kind: str | None = Field(None, description="standard, or alpha (for SELU), see `deepfit list dropouts`")
    input_norm: bool | None = Field(None, description="batch norm layer on the inputs (instead of standardising them)")
    norm_momentum: float | None = Field(
        None, gt=0, le=1, description="batch norm momentum, PyTorch convention (Keras 0.99 = 0.01); default 0.1"
    )
    norm_eps: float | None = Field(None, gt=0, description="batch norm epsilon; default torch's 1e-5")
    norm_running_var: Literal["unbiased", "biased"] | None = Field(
        None, description="the batch variance batch norm's moving variance averages: unbiased (torch's, default) "
        "or biased (Keras's)"
    )
    layer_init: dict[str, str | dict[str, Any]] | None = Field(
        None, description='kernel initializer per layer, e.g. {hidden1 = "orthogonal"}'
    )
    factory: str | None = Field(
        None, description="your own network: 'path/to/file.py:build' or 'package.module:build', called as "
        "build(input_shape, num_outputs, **options) (docs/own-model.md)"
    )
    options: dict[str, Any] | None = Field(None, description="keyword arguments of model.factory")

    @field_validator("layer_init")
    @classmethod
    def _known_layer_inits(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        for spec in (v or {}).values():
            _known(names.INITIALIZERS, spec, allow=("auto",))
        return v

    @field_validator("dropout")
    @classmethod
    def _dropout_rates(cls, v: float | list[float] | None) -> float | list[float] | None:
        for rate in v if isinstance(v, list) else [] if v is None else [v]:
            if not 0 <= rate < 1:
                raise ValueError(f"a dropout rate must be in [0, 1), got {rate}")
        return v

    @field_validator("dropout_kind")
    @classmethod
    def _known_dropout_kind(cls, v: str | None) -> str | None:
        return v if v is None else _known(names.DROPOUTS, v)

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, v: Any) -> Any:
        return v if v is None else _known(names.ACTIVATIONS, v)

    @field_validator("init")
    @classmethod
    def _known_init(cls, v: Any) -> Any:
        return v if v is None else _known(names.INITIALIZERS, v, allow=("auto",))

    @field_validator("hidden")
    @classmethod
    def _positive_units(cls, v: list[int] | None) -> list[int] | None:
        bad = [u for u in v or [] if u < 1]
        if bad:
            raise ValueError(f"each layer needs at least 1 unit, got {v}")
        return v

    @field_validator("factory")
    @classmethod
    def _factory_reference(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or _before_torch(info):
            return v
        from deepfit.nn.factory import REFERENCE_FORM, is_reference

        if not is_reference(v):
            raise ValueError(f"expected {REFERENCE_FORM}")
        return v

    @model_validator(mode="after")
    def _factory_alone(self) -> ModelConfig:
        """A factory builds the whole network: dense-network keys given with it are refused, not ignored."""
        dense = sorted(self.spec_options())
        if self.factory is not None and dense:
            raise ValueError(
                f"model.factory = {self.factory!r} builds the whole network, so the dense-network keys "
                f"{', '.join('model.' + k for k in dense)} do not apply; remove them (factory options go in "
                "model.options)"
            )
        if self.factory is None and self.options is not None:
            raise ValueError("model.options: keyword arguments of model.factory, but no model.factory is set")
        return self

    def spec_options(self) -> dict[str, Any]:
        """The dense-network settings given, as keyword arguments of `ModelSpec`."""
        return self.model_dump(exclude_none=True, exclude={"factory", "options"})


class OptimConfig(BaseModel):
    """`name`, `lr` and any parameter of that optimizer (torch's names; Keras spellings accepted)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, allow_inf_nan=False)
    name: str = Field("nadam", description="optimizer name, see `deepfit list optimizers`")
    lr: float | None = Field(
        None, gt=0, description="learning rate; default: the optimizer's own (`deepfit list optimizers`)"
    )

    @field_validator("name")
    @classmethod
    def _known_optimizer(cls, v: str) -> str:
        return _known(names.OPTIMIZERS, v)

    @model_validator(mode="before")
    @classmethod
    def _normalise_keras_spellings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = _finite(dict(data))
        if "decay" in data:
            raise ValueError(
                "'decay' is ambiguous: Keras's legacy `decay` is a learning-rate schedule lr0 / (1 + decay * step);"
                ' write [schedule] name = "power", s = 1 / decay, interval = "step" for that, or weight_decay for l2'
            )
        for keras, torch_name in _KERAS_OPTIMIZER_KEYS.items():
            if keras in data:
                if torch_name in data:
                    raise ValueError(f"give either {keras!r} or {torch_name!r}, not both")
                data[torch_name] = data.pop(keras)
        if "beta_1" in data or "beta_2" in data:
            b1, b2 = data.pop("beta_1", 0.9), data.pop("beta_2", 0.999)
            data["betas"] = [b1, b2]
        return data

    @model_validator(mode="after")
    def _valid_for_the_optimizer(self, info: ValidationInfo) -> OptimConfig:
        """Build the optimizer over a throw-away tensor, so an unknown parameter or a bad value fails here."""
        if _before_torch(info):
            return self
        from deepfit.optim import resolve_hyperparameters

        try:
            resolve_hyperparameters(self.name, self.params())
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def params(self) -> dict[str, Any]:
        """The optimizer's own parameters the user set (everything but `name`); the rest keep their defaults."""
        return {**(self.model_extra or {}), **({"lr": self.lr} if self.lr is not None else {})}


class ScheduleConfig(BaseModel):
    """`name`, `interval` and any parameter of that schedule."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, allow_inf_nan=False)
    name: str = Field("constant", description="schedule name, see `deepfit list schedules`")
    interval: Literal["step", "epoch"] = Field("step", description="advance the schedule per batch or epoch")

    @model_validator(mode="before")
    @classmethod
    def _finite_parameters(cls, data: Any) -> Any:
        return _finite(data) if isinstance(data, dict) else data

    @field_validator("name")
    @classmethod
    def _known_schedule(cls, v: str) -> str:
        return _known(names.SCHEDULES, v)

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class EarlyStoppingConfig(_Section):
    """Early stopping; what is left out takes `deepfit.train.EarlyStopping`'s default (val_loss, patience 5)."""

    monitor: str | None = Field(None, description="the epoch metric watched (val_loss)")
    patience: int | None = Field(None, ge=0, description="epochs without improvement before stopping (5)")
    min_delta: float | None = Field(None, ge=0.0, description="the smallest change that counts as improvement (0)")
    restore_best: bool | None = Field(None, description="put the best epoch's weights back at the end (true)")

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class TrainConfig(_Section):
    epochs: int = Field(20, ge=1, description="maximum number of epochs")
    batch_size: int = Field(32, ge=1)
    seed: int = Field(42, ge=0)
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    loss: str = Field("auto", description="auto (from data.task), cross_entropy, binary_cross_entropy, mse")
    early_stopping: EarlyStoppingConfig | None = Field(
        default_factory=EarlyStoppingConfig, description="early stopping settings; false turns it off"
    )
    checkpoint_every: int = Field(1, ge=1, description="write a resumable checkpoint every N epochs")
    eval_batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="samples per evaluation batch; auto: 4096 on an accelerator, on a CPU the largest "
        "batch whose largest layer output fits the cache (train/eval_batch.py)"
    )
    threads: int | Literal["auto"] = Field(
        "auto", description="CPU threads for torch: a number, or auto (1 when the load average says the cores are "
        "busy, else torch's default; run/threads.py)"
    )
    engine: Literal["auto", "eager", "compile", "graph"] = Field(
        "auto", description="how the training step runs: auto picks compile or graph where they pay off"
    )
    drop_last: bool = Field(False, description="leave out each epoch's short last batch instead of padding it")
    stream: bool | Literal["auto"] = Field(
        "auto", description="keep the training data in host memory and copy each batch to the device; auto: only "
        "when it does not fit in half the accelerator's free memory (train/placement.py)"
    )
    probe_every: int = Field(100, ge=1, description="steps between probe events (gradient-norm probes, the doctor)")
    diagnose: bool = Field(False, description="attach the training doctor (docs/doctor.md) to the run")
    tensorboard: bool = Field(False, description="write TensorBoard event files into <run>/tensorboard/")
    mlflow: bool | str = Field(
        False, description="log params, metrics and the run directory to MLflow: true for a local mlruns/ file "
        "store in the current directory, or a tracking URI or directory"
    )
    log_format: Literal["auto", "plain", "json"] = Field(
        "auto", description="progress output: auto (a bar in a terminal or notebook, else one line per epoch), plain "
        "(one line per epoch), json (one JSON object per line)"
    )

    @field_validator("threads", mode="before")
    @classmethod
    def _threads_are_a_count_or_auto(cls, v: Any) -> Any:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError('expected a number of threads >= 1 or "auto"')

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _bool_toggles_early_stopping(cls, v: Any) -> Any:
        if v is False:
            return None
        return {} if v is True else v


class TransferConfig(_Section):
    """Start from a saved model (a run or `deepfit pretrain` directory) and fine-tune it in two stages."""

    source: str = Field(
        validation_alias=AliasChoices("source", "from"),
        description="run or pretrain directory with model.json, or a name in the zoo (deepfit zoo list)",
    )
    reuse: int | None = Field(None, ge=0, description="hidden layers to reuse, bottom first (default: all)")
    freeze_epochs: int = Field(0, ge=0, description="epochs with the reused layers frozen before unfreezing")
    unfreeze: Literal["all", "none"] | int = Field(
        "all", description="after freeze_epochs: unfreeze all reused layers, none, or the top k"
    )
    lr_factor: float | None = Field(None, gt=0, description="reused layers' lr / optimizer.lr once unfrozen")
    head_lr_factor: float | None = Field(None, gt=0, description="new layers' lr / optimizer.lr once unfrozen")
    cache_features: bool = Field(True, description="train on cached outputs of frozen deterministic layers")

    @field_validator("unfreeze")
    @classmethod
    def _non_negative(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 0:
            raise ValueError(f"expected 'all', 'none' or a count >= 0, got {v}")
        return v


class AugmentConfig(_Section):
    """Training-batch augmentation (data/augment.py); unset keys take `build_augment`'s defaults."""

    shift: int | None = Field(None, ge=0, description="largest random shift, in whole pixels")
    rotate: float | None = Field(None, ge=0, le=180, description="largest random rotation, in degrees")
    flip: bool | None = Field(None, description="random left-right flips (off by default)")
    noise: float | None = Field(None, ge=0, description="std of Gaussian noise, in standardised units")

    def params(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class RegularizationConfig(_Section):
    """Penalties, max-norm and augmentation; dropout lives in `[model]` because it is part of the network."""

    penalty: str | dict[str, Any] | None = Field(
        None, description='penalty on every kernel: "l2" or {name="l2", l2=0.01, bias=false} (`deepfit list penalties`)'
    )
    layers: dict[str, str | dict[str, Any] | bool] = Field(
        default_factory=dict, description='per-layer penalty by layer name, e.g. {output="none", hidden1="l1"}'
    )
    max_norm: float | dict[str, Any] | None = Field(
        None, description="max-norm r on each hidden unit's incoming weights, or {max_value=, axis=, include_output=}"
    )
    augment: AugmentConfig | None = Field(None, description="augmentation of training batches (image data only)")

    @field_validator("penalty")
    @classmethod
    def _valid_penalty(cls, v: Any, info: ValidationInfo) -> Any:
        return _checked_penalty(_finite(v), info)

    @field_validator("layers")
    @classmethod
    def _valid_layer_penalties(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for spec in _finite(v).values():
            _checked_penalty(spec, info)
        return v

    @field_validator("max_norm")
    @classmethod
    def _positive_max_norm(cls, v: Any) -> Any:
        r = v.get("max_value", 2.0) if isinstance(_finite(v), dict) else v
        if r is not None and not (isinstance(r, int | float) and r > 0):
            raise ValueError(f"max-norm r (max_value) must be > 0, got {r!r}")
        return v

    def max_norm_params(self) -> dict[str, Any] | None:
        """Max-norm's settings (`max_value`, `axis`, `include_output`) for `UpdateRule.max_norm`, or None when off."""
        if self.max_norm is None:
            return None
        return dict(self.max_norm) if isinstance(self.max_norm, dict) else {"max_value": self.max_norm}


def _checked_penalty(v: Any, info: ValidationInfo) -> Any:
    """`v` unchanged once `resolve_penalty` accepts it; before torch, only its name is checked."""
    if _before_torch(info):
        name = v.get("name") if isinstance(v, dict) else v
        if isinstance(name, str) and name != "none":
            _known(names.PENALTIES, name)
        return v
    from deepfit.optim import resolve_penalty

    try:
        resolve_penalty(v)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return v


class ClipConfig(_Section):
    """Gradient clipping between backward and the optimizer step; `name = "none"` only records the norm."""

    name: str = Field("global_norm", description="none, value, norm or global_norm; see `deepfit list clipping`")
    threshold: float | None = Field(None, gt=0, description="clip value or norm; default 1.0")

    @field_validator("name")
    @classmethod
    def _known_clip(cls, v: str) -> str:
        return _known(names.CLIPPERS, v)

    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold} if self.threshold is not None else {}


class SweepConfig(_Section):
    """A grid of settings trained over seeds (`deepfit sweep`): every combination of the grid's values."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description='dotted key -> values, e.g. {"optimizer.lr" = [1e-3, 3e-3]}'
    )
    seeds: int = Field(1, ge=1, description="seeds per combination (train.seed, train.seed + 1, ...)")
    engine: Literal["grouped", "sequential"] = Field(
        "grouped", description="train compatible runs at once as members of one group, or one at a time"
    )
    save_models: bool = Field(False, description="write every run's model under <sweep dir>/models/")

    @field_validator("grid")
    @classmethod
    def _non_empty_lists(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [k for k, values in v.items() if not values]
        if empty:
            raise ValueError(f"each grid key needs at least one value; empty: {empty}")
        return v


class ConventionsConfig(_Section):
    """Another library's defaults for everything a config leaves unset (conventions.py, docs/keras-convention.md)."""

    keras: bool = Field(
        False, description="Keras's defaults where the config sets nothing: Glorot-uniform kernels, batch norm "
        "momentum 0.99 / epsilon 1e-3 / biased moving variance, Keras's optimizers (eps 1e-7, ...), inputs / 255 "
        "not standardised, no early stopping, Keras's piecewise boundaries"
    )


class RunConfig(_Section):
    name: str = Field("run", description="run name; the run directory is <out>/<name>-<time>")
    out: str = Field("runs", description="parent directory of run directories")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optimizer: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    clip: ClipConfig | None = Field(None, description="gradient clipping; absent: off, no gradient statistics")
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    transfer: TransferConfig | None = Field(None, description="reuse a saved model's layers (deepfit transfer)")
    sweep: SweepConfig | None = Field(None, description="a grid of settings for `deepfit sweep`")
    conventions: ConventionsConfig | None = Field(
        None, description="another library's defaults for what the config leaves unset ({keras = true})"
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve_conventions(cls, data: Any) -> Any:
        """The Keras convention's values where `data` sets nothing (conventions.py): the one place it is read."""
        if isinstance(data, dict) and keras_enabled(data):
            return apply_keras(data, default_optimizer=OptimConfig.model_fields["name"].default)
        return data

    @model_validator(mode="before")
    @classmethod
    def _finite_numbers(cls, data: Any) -> Any:
        """Refuse NaN and infinite numbers anywhere, naming the dotted key (sections check their own too)."""
        if isinstance(data, dict):
            _finite({k: v for k, v in data.items() if k != "sweep"})  # a sweep grid may hold any values
        return data

    @field_validator("name")
    @classmethod
    def _one_directory_name(cls, v: str) -> str:
        if not v or v in (".", "..") or any(c in v for c in "/\\\0"):
            raise ValueError(
                "a run name is one directory name, without '/' (the run directory is <out>/<name>-<time>); "
                "put parent directories in --out"
            )
        return v


def _format_validation_error(exc: ValidationError, source: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        got = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            section = _section_model(err["loc"][:-1])
            valid = ", ".join(section.model_fields) if section else "see docs/config.md"
            lines.append(f"{field}: unknown key; valid keys: {valid}")
        elif not field:
            lines.append(msg)  # a check of the whole config: the message names its key
        elif isinstance(got, dict):
            lines.append(f"{field}: {msg}")  # a check of a whole section: its input is the section
        else:
            line = f"{field}: {msg}; got {got!r}"
            if err["type"] == "list_type" and isinstance(got, str) and "," in got:
                line += f"; write a list in brackets, e.g. --set {field}=[{got}]"
            lines.append(line)
    return ConfigError(f"{source}: " + "; ".join(lines))


def _section_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = RunConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        sub = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if sub is None:
            return None
        model = sub
    return model


def config_from_dict(data: dict[str, Any], *, source: str = "config") -> RunConfig:
    """Validate a nested dict into a `RunConfig`, turning pydantic's errors into one `ConfigError`.

    Keys, values and names are checked first without torch (a typo answers in well under a second, not
    after torch's import); only a config that passes is checked again with the components built.
    """
    _validated(data, source, context={_BEFORE_TORCH: True})
    return _validated(data, source, context=None)


def _validated(data: dict[str, Any], source: str, context: dict[str, Any] | None) -> RunConfig:
    try:
        return RunConfig.model_validate(data, context=context)
    except ValidationError as exc:
        raise _format_validation_error(exc, source) from None
    except (ArithmeticError, TypeError) as exc:  # raised inside a validator, which pydantic does not wrap
        raise ConfigError(f"{source}: a value cannot be used ({type(exc).__name__}: {exc})") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file into a dict; a missing or malformed file is a `ConfigError` naming it."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a directory, expected a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}), expected a TOML file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror or exc}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse `section.key=value` (value in TOML syntax; bare words are strings)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value (e.g. model.activation=elu), got {text!r}")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts, value


def compact_override(text: str) -> str:
    """`key=value` with a list or table value written without spaces (`model.hidden=[300,300,100]`): the same
    setting for `parse_override`, one word for a shell. Other values stay as given."""
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = None
    return f"{key.strip()}={_inline(value) if isinstance(value, list | dict) else raw.strip()}"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def shell_overrides(overrides: list[str]) -> str:
    """The overrides as `--set` flags quoted for a POSIX shell: `--set 'model.hidden=[300,300,100]'`."""
    return " ".join(f"--set {shlex.quote(compact_override(o))}" for o in overrides)


def apply_overrides(data: dict[str, Any], overrides: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """Return a copy of `data` with each `(path, value)` set, creating sections as needed.

    An override of an optimizer setting replaces that setting in `data` under any spelling
    (`optimizer.learning_rate` replaces a preset's `lr`), and one that renames the optimizer or the schedule
    drops `data`'s parameters of the old one (`--set schedule.name=one_cycle` over an exponential `s`).
    """
    import copy

    given = {parts[1] for parts, _ in overrides if len(parts) == 2 and parts[0] == "optimizer"}
    renamed = {parts[0]: value for parts, value in overrides
               if len(parts) == 2 and parts[0] in _NAMED_SECTIONS and parts[1] == "name"}
    out = _without_renamed(_without_replaced_spellings(copy.deepcopy(data), given), renamed)
    for parts, value in overrides:
        node = out
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {'.'.join(parts)}: {p!r} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return out


def load_config(
    path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None
) -> RunConfig:
    """Build a `RunConfig` from an optional base dict, a TOML file and `key=value` overrides, in that order.

    Paths in the file are relative to its folder, the others to the current directory; all become absolute
    (`config_paths.absolute_paths`)."""
    data: dict[str, Any] = dict(base or {})
    source = "config"
    if path is not None:
        data = merge_layer(data, absolute_paths(read_toml(path), Path(path).absolute().parent))
        source = str(path)
    parsed = [parse_override(o) for o in overrides or []]
    data = absolute_paths(apply_overrides(data, parsed), Path.cwd())
    return config_from_dict(data, source=source)


def merge_layer(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`deep_merge` of one configuration layer over another (preset < file < --set): an optimizer setting
    `update` gives under one spelling (`learning_rate`) replaces `base`'s under another (`lr`), and a section
    whose component `update` renames (`schedule.name`) loses `base`'s parameters of the old component."""
    optimizer = update.get("optimizer")
    given = set(optimizer) if isinstance(optimizer, dict) else set()
    renamed = {key: section["name"] for key, section in update.items()
               if key in _NAMED_SECTIONS and isinstance(section, dict) and "name" in section}
    return deep_merge(_without_renamed(_without_replaced_spellings(base, given), renamed), update)


_NAMED_SECTIONS = ("optimizer", "schedule")  # sections whose other keys are parameters of the named component


def _without_renamed(data: dict[str, Any], renamed: dict[str, Any]) -> dict[str, Any]:
    """`data` without the sections whose component `renamed` replaces by another one: a preset's exponential
    `s` means nothing to one_cycle, nor Nadam's betas to SGD (a copy when it changes)."""
    gone = [key for key, name in renamed.items() if isinstance(data.get(key), dict) and data[key].get("name") != name]
    return {k: v for k, v in data.items() if k not in gone} if gone else data


def _without_replaced_spellings(data: dict[str, Any], given: set[str]) -> dict[str, Any]:
    """`data` without the optimizer keys that are other spellings of a key in `given` (a copy when it changes)."""
    optimizer = data.get("optimizer")
    if not isinstance(optimizer, dict):
        return data
    replaced = {key for group in _SPELLINGS if group & given for key in group - given}
    if not replaced & set(optimizer):
        return data
    return {**data, "optimizer": {k: v for k, v in optimizer.items() if k not in replaced}}


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge `update` into a copy of `base` (sections merge, values replace)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The configuration as a nested dict that `config_from_dict` reads back to the same config (a disabled
    early stopping is `false`; unset fields are left out)."""
    data = cfg.model_dump(mode="json")
    if data["train"]["early_stopping"] is None:
        data["train"]["early_stopping"] = False
    return _drop_none(data)


def to_toml(cfg: RunConfig) -> str:
    """The resolved configuration as TOML (a disabled section is `false`; unset fields are left out)."""
    return tomli_w.dumps(to_dict(cfg))


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d
