"""Recipes: one TOML table per concern, validated into frozen, typed objects.

A recipe says everything a run needs::

    name = "relu-he"            # optional, shown in reports
    [data]   name = "mnist1d"   # + the loader's options (num_samples, labels_fraction, ...)
    [model]  name = "mlp"       # or "package.module:factory"; + depth, width, activation, ...
    [init]   name = "he_normal" # + the scheme's options, and bias
    [optim]  name = "adam"      # + lr, weight_decay, ...
    [schedule] name = "cosine"  # learning-rate schedule + per, warmup and its options
    [train]  epochs = 20        # batch_size, seed, eval_every, device, threads

Each section's options are checked against the keyword-only signature of the function they
feed (see :mod:`trainwell.params`), so the recipe and the library share one schema.
``Recipe.from_dict(r.to_dict()) == r`` and the TOML round-trips exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from trainwell import _toml
from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean
from trainwell.params import validate_params

__all__ = ["Recipe", "Section", "TrainConfig", "RegularizeConfig", "AugmentConfig",
           "EnsembleConfig", "AverageConfig", "TransferConfig", "DEFAULTS",
           "load_recipe", "apply_overrides", "parse_override", "takes_option"]

SECTIONS = ("data", "model", "init", "optim", "schedule", "regularize", "augment", "ensemble",
            "average", "transfer", "train")
TOP_LEVEL = ("name", "note")

DEFAULTS: dict[str, Any] = {
    "data": {"name": "mnist1d"},
    "model": {"name": "mlp"},
    "init": {"name": "he_normal"},
    "optim": {"name": "adam"},
    "schedule": {"name": "constant"},
    "regularize": {},
    "augment": {},
    "ensemble": {},
    "average": {},
    "transfer": {},
    "train": {},
}


def _device_name(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise ValueError("auto, cpu, cuda or cuda:N")
    return value


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How long and how to train: the ``[train]`` table.

    ``eval_every``: evaluate val/test every that many epochs (0: only at the end);
    ``record_every``: record per-layer gradient norms and activation stds every that many
    steps (0: off), and judge the final model (:mod:`trainwell.diagnose`);
    ``threads``: torch intra-op threads (0: torch's default); ``device``: ``auto`` picks cuda
    when available, ``cuda:N`` one GPU (a sweep's backend may place a run elsewhere: where it
    ran is recorded, and the run id does not depend on it); ``deterministic``: torch's
    deterministic algorithms (slower on CUDA; bit-identical reruns there too);
    ``early_stopping``: ``{metric = "val_loss", patience = 5}`` stops after ``patience``
    epochs without improvement and restores the best epoch's weights
    (:class:`~trainwell.regularize.EarlyStopping`); ``checkpoint_every``: write a checkpoint
    every that many epochs and at the end (off by default), from which a killed run resumes
    exactly (:mod:`trainwell.loop.checkpoint`); ``log_to``: ``"tensorboard"`` writes the
    run's metrics as TensorBoard events while it trains (off by default;
    :mod:`trainwell.loop.tensorboard`), into ``<run folder>/tensorboard`` of a sweep's run or
    ``OUT/tensorboard`` of ``trainwell train --out OUT``.

    Speed (:mod:`trainwell.loop.speed`; each left out of the recipe's dict at its default):
    ``precision``: ``fp32``, ``bf16`` or ``fp16`` autocast of the forward pass
    (:mod:`trainwell.loop.precision`); ``compile``: ``true`` or ``"max-autotune"`` compiles
    the model (:mod:`trainwell.loop.compile`); ``channels_last``: channels-last memory for a
    model with 2-D convolutions.
    """

    epochs: Annotated[int, Field(ge=1)] = 20
    batch_size: Annotated[int, Field(ge=1)] = 64
    seed: Annotated[int, Field(ge=0)] = 0
    eval_every: Annotated[int, Field(ge=0)] = 1
    record_every: Annotated[int, Field(ge=0)] = 50
    device: Annotated[str, AfterValidator(_device_name)] = "auto"
    threads: Annotated[int, Field(ge=0)] = 0
    deterministic: bool = False
    early_stopping: dict[str, Any] | None = None
    checkpoint_every: Annotated[int, Field(ge=1)] | None = None
    log_to: str | None = None
    precision: Any = None
    compile: Any = None
    channels_last: Any = None


@dataclass(frozen=True, kw_only=True)
class RegularizeConfig:
    """Penalties on the loss: the ``[regularize]`` table.

    ``l2``: :math:`\\lambda_2 \\sum w^2`, ``l1``: :math:`\\lambda_1 \\sum |w|` (both: elastic
    net), over the weights of Linear and Conv layers; ``include_bias`` adds the biases
    (normalization parameters never). See :mod:`trainwell.regularize.penalties`.
    """

    l1: Annotated[float, Field(ge=0)] = 0.0
    l2: Annotated[float, Field(ge=0)] = 0.0
    include_bias: bool = False


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Data augmentation: the ``[augment]`` table.

    ``transforms``: a list of tables ``{name = "shift", max_shift = 8}`` applied in order to
    every training minibatch (:mod:`trainwell.data.augment`); ``test_views``: the final test
    metrics average the softmax over that many fixed views (1: the plain test set): the
    identity, then small shifts (:func:`trainwell.data.tta.view_plan`), and the mirror image
    when the training transforms include ``hflip``.
    """

    transforms: list[dict[str, Any]] = field(default_factory=list)
    test_views: Annotated[int, Field(ge=1)] = 1


@dataclass(frozen=True, kw_only=True)
class EnsembleConfig:
    """A snapshot ensemble from one run: the ``[ensemble]`` table.

    ``snapshots = M`` (at least 2) replaces the schedule by ``M`` cosine cycles of the lr per
    optimizer step and keeps the weights at the end of each cycle; the run's final metrics are
    those of the mean softmax of the last ``use_last`` snapshots (default: all), and the last
    model's stay as ``*_last`` (:mod:`trainwell.ensemble.snapshots`). Without it (the default)
    a run trains one model.
    """

    snapshots: Annotated[int, Field(ge=2)] | None = None
    use_last: Annotated[int, Field(ge=1)] | None = None


@dataclass(frozen=True, kw_only=True)
class AverageConfig:
    """Weight averaging along the run: the ``[average]`` table.

    ``kind``: ``none``, ``ema`` (``decay``), ``swa`` (``start``, ``swa_lr``,
    ``anneal_epochs``) or ``polyak`` (``start``); ``every``: average after every ``step`` or
    ``epoch``; ``update_bn``: recompute batch-norm statistics for the averaged weights. The
    run's final metrics are the averaged model's; the raw one's stay as ``*_raw``
    (:mod:`trainwell.ensemble.averaging`, which also gives the defaults of each kind).
    """

    kind: Literal["none", "ema", "swa", "polyak"] = "none"
    decay: Annotated[float, Field(gt=0, lt=1)] | None = None
    start: Annotated[int, Field(ge=0)] | None = None
    every: Literal["step", "epoch"] | None = None
    swa_lr: Annotated[float, Field(gt=0)] | None = None
    anneal_epochs: Annotated[int, Field(ge=0)] | None = None
    update_bn: bool | None = None


@dataclass(frozen=True, kw_only=True)
class TransferConfig:
    """Start from another run's weights: the ``[transfer]`` table (TOML key ``from`` for
    ``source``).

    ``from``: a run folder, a ``.safetensors`` weights file with its ``recipe.toml`` beside it,
    or a recipe (a ``.toml`` file or an inline table) that is trained first, as a run of its
    own; ``weights``: the source's ``final`` or ``averaged`` weights; ``head``: ``new`` (a
    classifier for the target's classes, initialized by the recipe's init) or ``keep``;
    ``freeze``: ``none``, ``features`` (all but the head) or the first N layer groups;
    ``lr_mult``: each layer group going down trains at that times the lr of the one above;
    ``unfreeze_at``: epochs at which one more frozen group starts training
    (:mod:`trainwell.transfer`). ``digest`` identifies the source's weights file (filled in),
    so the run id changes when the source does.
    """

    source: str | dict[str, Any] | None = None
    weights: Literal["final", "averaged"] = "final"
    head: Literal["new", "keep"] = "new"
    freeze: Literal["none", "features"] | Annotated[int, Field(ge=0)] = "none"
    lr_mult: Annotated[float, Field(gt=0, le=1)] = 1.0
    unfreeze_at: list[Annotated[int, Field(ge=1)]] = field(default_factory=list)
    digest: str | None = None


@dataclass(frozen=True)
class Section:
    """A named component and its resolved options (defaults filled in).

    Options whose value is ``None`` ("not set": TOML has no null) are left out.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", {k: v for k, v in self.options.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **copy.deepcopy(dict(self.options))}


def _options_fn(section: str, name: Any) -> Callable[..., Any]:
    """The function whose keyword-only signature is the schema of ``section``'s options."""
    from trainwell import data, init, optim, pretrain
    from trainwell.names import get

    tables: dict[str, Mapping[str, Callable[..., Any]]] = {
        "data": data.DATASETS, "init": {**init.INITIALIZERS, **pretrain.DATA_INITIALIZERS},
        "optim": optim.OPTIMIZERS}
    return get(tables[section], name, key=f"{section}.name")


def _section(section: str, raw: Any) -> Section:
    if not isinstance(raw, Mapping):
        raise ConfigError(section, raw, f"a table [{section}]")
    options = dict(raw)
    name = options.pop("name", DEFAULTS[section]["name"])
    if section == "model":
        from trainwell.models import validate_model_options

        return Section(name, validate_model_options(name, options))
    if section == "schedule":
        from trainwell.optim.schedules import schedule_options

        return Section(name, schedule_options(name, options))
    bias = options.pop("bias", None) if section == "init" else None
    resolved = validate_params(_options_fn(section, name), options, key=section)
    if bias is not None:
        if isinstance(bias, bool) or not isinstance(bias, (int, float)):
            raise ConfigError("init.bias", bias, "a number (the value every bias starts at)")
        resolved["bias"] = float(bias)
    return Section(name, resolved)


def takes_option(section: str, name: str, option: str) -> bool:
    """True when component ``name`` of ``section`` has an option called ``option``.

    >>> takes_option("init", "dbn", "epochs"), takes_option("init", "he_normal", "epochs")
    (True, False)
    """
    probe = {"name": name, option: _PROBE}
    try:
        if section in CONFIGS:
            validate_params(CONFIGS[section], {option: _PROBE}, key=section)
        else:
            _section(section, probe)
    except UnknownOptionError as exc:
        return exc.key != f"{section}.{option}"
    except ConfigError:
        return True
    return True


_PROBE = object()
"""A value no option accepts: validating it tells an unknown option from a wrong value."""


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; build one with :meth:`from_dict` or :func:`load_recipe`.

    >>> r = Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}})
    >>> r.optim.options["lr"], r.model.name
    (0.1, 'mlp')
    """

    data: Section
    model: Section
    init: Section
    optim: Section
    schedule: Section
    train: TrainConfig
    name: str = ""
    note: str = ""
    regularize: RegularizeConfig = field(default_factory=RegularizeConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    average: AverageConfig = field(default_factory=AverageConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Recipe:
        if not isinstance(raw, Mapping):
            raise ConfigError("recipe", raw, "a table of sections")
        for key in raw:
            if key not in SECTIONS + TOP_LEVEL:
                allowed = ", ".join(SECTIONS + TOP_LEVEL)
                raise ConfigError(str(key), raw[key], f"a known section; allowed: {allowed}"
                                  f"{did_you_mean(str(key), SECTIONS + TOP_LEVEL)}")
        for key in TOP_LEVEL:
            if not isinstance(raw.get(key, ""), str):
                raise ConfigError(key, raw[key], "a string")
        sections: dict[str, Any] = {s: _section(s, raw.get(s, DEFAULTS[s])) for s in SECTIONS
                                    if s not in CONFIGS}
        for s, kind in CONFIGS.items():
            table = raw.get(s, {})
            if not isinstance(table, Mapping):
                raise ConfigError(s, table, f"a table [{s}]")
            if s == "transfer":
                table = _transfer_table(table)
            sections[s] = kind(**validate_params(kind, table, key=s))
        _check_configs(sections)
        return cls(**sections, name=raw.get("name", ""), note=raw.get("note", ""))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in TOP_LEVEL if getattr(self, k)}
        for s in SECTIONS:
            value = getattr(self, s)
            if s in OPTIONAL and value == CONFIGS[s]():
                continue
            out[s] = value.to_dict() if isinstance(value, Section) else {
                ("from" if k == "source" else k): copy.deepcopy(v)
                for k, v in vars(value).items() if v is not None}
        return out

    def to_toml(self) -> str:
        return _toml.dumps(self.to_dict())

    def replace(self, overrides: Sequence[str]) -> Recipe:
        """A new recipe with ``key.path=value`` overrides applied to this one's dict."""
        return Recipe.from_dict(apply_overrides(self.to_dict(), overrides))


CONFIGS: dict[str, Any] = {"regularize": RegularizeConfig, "augment": AugmentConfig,
                          "ensemble": EnsembleConfig, "average": AverageConfig,
                          "transfer": TransferConfig, "train": TrainConfig}
"""Sections without a component name: one fixed set of options each."""

OPTIONAL = ("ensemble", "average", "transfer")
"""Sections left out of :meth:`Recipe.to_dict` (and so out of the run id) while they are off."""


def _check_configs(sections: dict[str, Any]) -> None:
    """Check the options whose schema lives with their component; fill in their defaults."""
    from trainwell.data.augment import check_transforms
    from trainwell.loop.speed import check_speed
    from trainwell.regularize.early_stopping import EarlyStopping

    augment: AugmentConfig = sections["augment"]
    checked = check_transforms(augment.transforms)
    sections["augment"] = dataclasses.replace(
        augment, transforms=[{"name": n, **o} for n, o in checked])
    train: TrainConfig = sections["train"]
    train = sections["train"] = dataclasses.replace(
        train, **check_speed(vars(train), optimizer=sections["optim"].name))
    if train.log_to is not None:
        _check_log_to(train.log_to)
    if train.early_stopping is not None:
        given = dict(train.early_stopping)
        metric = given.pop("metric", "val_loss")
        if not isinstance(metric, str):
            raise ConfigError("train.early_stopping.metric", metric, "a metric name, e.g. val_loss")
        stop = EarlyStopping(metric, **validate_params(EarlyStopping, given,
                                                       key="train.early_stopping"))
        if train.eval_every == 0 and stop.metric.startswith(("val_", "test_")):
            raise ConfigError("train.early_stopping.metric", stop.metric,
                              "a metric that is evaluated: set train.eval_every >= 1 (it is 0)")
        options = {"metric": stop.metric, "patience": stop.patience, "mode": stop.mode,
                   "min_delta": stop.min_delta}
        sections["train"] = dataclasses.replace(train, early_stopping=options)
    _check_ensemble(sections)
    _check_transfer(sections)


def _check_log_to(value: str) -> None:
    """``train.log_to``: a known logger, whose writer is installed."""
    from trainwell.loop.tensorboard import LOG_TO, require_tensorboardx

    if value not in LOG_TO:
        raise ConfigError("train.log_to", value, f"one of: {', '.join(LOG_TO)} (or no value: "
                          f"no live logging){did_you_mean(value, LOG_TO)}")
    require_tensorboardx("train.log_to", value)


def _transfer_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """``[transfer]`` with TOML's ``from`` under its field name ``source``."""
    out = dict(table)
    if "source" in out:
        raise UnknownOptionError("transfer.source", out["source"],
                                 "a known option; the source is set by transfer.from")
    if "from" in out:
        out["source"] = out.pop("from")
    freeze = out.get("freeze", "none")
    if freeze not in ("none", "features") and (
            isinstance(freeze, bool) or not isinstance(freeze, int) or freeze < 0):
        raise ConfigError("transfer.freeze", freeze, "none, features (all but the head) or the "
                          "number of layer groups to freeze from the bottom (>= 0)")
    return out


def _check_transfer(sections: dict[str, Any]) -> None:
    """Resolve ``transfer.from`` (see :mod:`trainwell.transfer.resolve`)."""
    from trainwell.transfer.resolve import resolve_transfer

    sections["transfer"] = resolve_transfer(sections["transfer"])


def _check_ensemble(sections: dict[str, Any]) -> None:
    """``[ensemble]`` and ``[average]``: resolve the averaging kind's defaults and reject
    combinations that would not mean what they say."""
    from trainwell.ensemble.averaging import average_options

    train: TrainConfig = sections["train"]
    average: AverageConfig = sections["average"]
    resolved = average_options(vars(average), train.epochs)
    sections["average"] = AverageConfig(**resolved)
    ens: EnsembleConfig = sections["ensemble"]
    if ens.snapshots is None:
        if ens.use_last is not None:
            raise ConfigError("ensemble.use_last", ens.use_last,
                              "no value without ensemble.snapshots (the snapshots it picks from)")
        return
    if ens.use_last is not None and ens.use_last > ens.snapshots:
        raise ConfigError("ensemble.use_last", ens.use_last,
                          f"at most ensemble.snapshots = {ens.snapshots}")
    schedule: Section = sections["schedule"]
    if schedule.name != "constant" or schedule.options.get("warmup", 0):
        raise ConfigError("schedule.name", schedule.name,
                          "constant (no warm-up) with [ensemble] snapshots: the snapshot "
                          "ensemble's cyclic cosine schedule sets the lr")
    if resolved["kind"] != "none":
        raise ConfigError("average.kind", resolved["kind"],
                          "none with [ensemble] snapshots (one or the other per run)")
    if train.early_stopping is not None:
        raise ConfigError("train.early_stopping", train.early_stopping,
                          "no early stopping with [ensemble] snapshots (every cycle must run)")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"optim.lr=0.1"`` into ``(["optim", "lr"], 0.1)``; the value is read as TOML,
    and taken as a plain string when it is not valid TOML (``init.name=he_normal``)."""
    if "=" not in text:
        raise ConfigError("--set", text, "key.path=value, e.g. optim.lr=0.1")
    key, _, value = text.partition("=")
    path = [p.strip() for p in key.strip().split(".")]
    if not all(path):
        raise ConfigError("--set", text, "key.path=value, e.g. optim.lr=0.1")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return path, parsed


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.path=value`` set. Changing a section's
    ``name`` drops that section's other options, which belonged to the old name."""
    out = copy.deepcopy(dict(raw))
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(".".join(path), value, f"a key inside a table; {part} is a value")
            node = child
        if path[-1] == "name" and len(path) == 2 and node.get("name") not in (None, value):
            node.clear()
        node[path[-1]] = value
    return out


def load_recipe(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Recipe:
    """Read and validate a recipe file (``None``: the default recipe), then apply overrides."""
    raw = _toml.read(path, what="recipe file") if path is not None else {}
    if path is not None:
        from trainwell.sweep import anchor_paths

        raw = anchor_paths(raw, Path(path).parent)
    return Recipe.from_dict(apply_overrides(raw, overrides))
