"""The sections of a recipe, in one registry: each section's schema, defaults, cross-checks
(:mod:`trainwell.section_checks`), the training callbacks it adds
(:mod:`trainwell.section_training`), the options it gained later and its lines in
``trainwell list``.

A section is either a *component* (``[data]``, ``[model]``, ``[init]``, ``[optim]``,
``[schedule]``: a ``name`` and that component's options, whose schema is the keyword-only
signature of the function it names) or a *table* with a fixed set of options (``[train]``,
``[regularize]``, ...: a dataclass of :mod:`trainwell.section_tables`). :class:`Recipe
<trainwell.recipe.Recipe>`, sweeps, ``execute`` and the catalogue all iterate
:data:`SECTIONS`; none of them names a section's kind itself.

>>> [s.name for s in SECTIONS.values() if s.optional]
['ensemble', 'average', 'transfer']
>>> SECTIONS["init"].schema("dbn").__name__
'dbn_pretrain_'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trainwell import section_checks as checks
from trainwell import section_training as training
from trainwell.errors import ConfigError
from trainwell.params import validate_params
from trainwell.section_tables import (
    AugmentConfig,
    AverageConfig,
    EnsembleConfig,
    RegularizeConfig,
    Section,
    TrainConfig,
    TransferConfig,
)

if TYPE_CHECKING:
    import torch

    from trainwell.data import Dataset
    from trainwell.recipe import Recipe

__all__ = ["SectionSpec", "SECTIONS", "CHECK_ORDER", "section_callbacks", "catalogue"]

Callbacks = Callable[["Recipe", "torch.nn.Module", "Dataset"], list[Any]]
Catalogue = tuple[tuple[str, Callable[[], Mapping[str, Any]]], ...]


@dataclass(frozen=True)
class SectionSpec:
    """What trainwell knows of one recipe section.

    ``table``: the dataclass of a section with fixed options (``None``: a component section,
    whose options ``components(name)`` defines); ``default``: the table a recipe that leaves
    the section out gets; ``optional``: left out of a recipe's dict (and so of its run id)
    while it equals its default; ``read``: a table section's TOML table as its dataclass's
    fields (``[transfer] from`` is the field ``source``); ``resolve``: a component's own
    check of its options (default: the signature of ``components(name)``); ``check``: the
    cross-check that runs once every section is validated (:data:`CHECK_ORDER`);
    ``callbacks``: the training callbacks the section adds to a run; ``catalogue``: its lines
    in ``trainwell list`` (a title and the names with their descriptions); ``later``: per
    component, the options it gained after its first release with their defaults, left out of
    the section while they hold them, so the run ids of earlier recipes stay the same (a
    table's later options default to ``None``, which a recipe's dict leaves out).
    """

    name: str
    default: Mapping[str, Any] = field(default_factory=dict)
    table: type | None = None
    components: Callable[[str], Callable[..., Any]] | None = None
    read: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    resolve: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None
    optional: bool = False
    check: Callable[[Mapping[str, Any]], Any] | None = None
    callbacks: Callbacks | None = None
    catalogue: Catalogue = ()
    later: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def schema(self, name: Any = None) -> Callable[..., Any]:
        """The function (or dataclass) whose keyword-only signature declares the options of
        component ``name`` (a table section: its dataclass)."""
        if self.table is not None:
            return self.table
        assert self.components is not None, "a component section names its components"
        return self.components(name)

    def validate(self, raw: Any) -> Any:
        """The section's table ``raw`` checked and resolved on its own: a :class:`Section` (a
        component and its options) or the section's dataclass."""
        if not isinstance(raw, Mapping):
            raise ConfigError(self.name, raw, f"a table [{self.name}]")
        options = dict(raw)
        if self.table is not None:
            if self.read is not None:
                options = self.read(options)
            return self.table(**validate_params(self.table, options, key=self.name))
        name = options.pop("name", self.default["name"])
        if self.resolve is not None:
            checked = self.resolve(name, options)
        else:
            checked = validate_params(self.schema(name), options, key=self.name)
        later = self.later.get(name, {})
        return Section(name, {k: v for k, v in checked.items()
                              if k not in later or v != later[k]})


def _dataset(name: str) -> Callable[..., Any]:
    from trainwell.data import data_options_fn

    return data_options_fn(name)


def _data_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``[data] name``, checked without reading the data: a user's file is
    found and its digest taken when the recipe is planned (:func:`trainwell.plan.resolve`)."""
    from trainwell.data import data_options

    return data_options(name, options)


def _model(name: str) -> Callable[..., Any]:
    from trainwell.models import model_options_fn

    return model_options_fn(name)


def _model_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    from trainwell.models import validate_model_options

    return validate_model_options(name, options)


def _initializer(name: str) -> Callable[..., Any]:
    from trainwell.init import INITIALIZERS
    from trainwell.names import get
    from trainwell.pretrain import DATA_INITIALIZERS

    return get({**INITIALIZERS, **DATA_INITIALIZERS}, name, key="init.name")


def _init_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """An initializer's options, and ``bias``: the value every bias starts at."""
    given = dict(options)
    bias = given.pop("bias", None)
    resolved = validate_params(_initializer(name), given, key="init")
    if bias is not None:
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
            raise ConfigError("init.bias", bias, "a finite number (the value every bias starts at)")
        resolved["bias"] = float(bias)
    return resolved


def _optimizer(name: str) -> Callable[..., Any]:
    from trainwell.names import get
    from trainwell.optim import OPTIMIZERS

    return get(OPTIMIZERS, name, key="optim.name")


def _optim_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    from trainwell.optim import optimizer_options

    return optimizer_options(name, options)


def _schedule(name: str) -> Callable[..., Any]:
    from trainwell.names import get
    from trainwell.optim.schedules import SCHEDULES

    return get(SCHEDULES, name, key="schedule.name")


def _schedule_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    from trainwell.optim.schedules import schedule_options

    return schedule_options(name, options)


def _catalogue(module: str, attribute: str, *,
               more: Mapping[str, str] | None = None) -> Callable[[], Mapping[str, Any]]:
    """The descriptions table ``module.attribute``, imported when the catalogue is shown, and
    ``more`` lines after it."""
    def load() -> Mapping[str, Any]:
        import importlib

        return {**getattr(importlib.import_module(f"trainwell.{module}"), attribute), **(more or {})}
    return load


_FACTORY = "package.module:function"


SECTIONS: dict[str, SectionSpec] = {spec.name: spec for spec in (
    SectionSpec("data", {"name": "mnist1d"}, components=_dataset, resolve=_data_options,
                catalogue=(("datasets  [data] name", _catalogue("data", "DESCRIPTIONS", more={
                    _FACTORY: "your data factory: returns (x, y), a dict of splits or a "
                              "torch Dataset per split"})),)),
    SectionSpec("model", {"name": "mlp"}, components=_model, resolve=_model_options,
                later={"resnet": {"stem_norm": False, "global_pool": "avg", "stem_pool": False,
                                  "stem_stride": 1},
                       "cnn": {"hidden": 0}},
                catalogue=(("models  [model] name", _catalogue("models", "DESCRIPTIONS", more={
                    _FACTORY: "your model factory: gets input_shape and num_classes (when it "
                              "takes them) and the section's options, returns an nn.Module"})),
                           ("activations  [model] activation",
                            _catalogue("models", "ACTIVATIONS")))),
    SectionSpec("init", {"name": "he_normal"}, components=_initializer, resolve=_init_options,
                catalogue=(("initializers  [init] name", _catalogue("init", "DESCRIPTIONS")),
                           ("data-driven initializers  [init] name",
                            _catalogue("pretrain", "DESCRIPTIONS")))),
    SectionSpec("optim", {"name": "adam"}, components=_optimizer, resolve=_optim_options,
                later={**{name: {"fused": False}
                          for name in ("sgd", "momentum", "nesterov", "adagrad", "adamw")},
                       "adam": {"bias_correction": True, "fused": False}},
                catalogue=(("optimizers  [optim] name", _catalogue("optim", "DESCRIPTIONS")),
                           ("optimizer step  [optim] fused",
                            _catalogue("optim", "STEP_OPTIONS")))),
    SectionSpec("schedule", {"name": "constant"}, components=_schedule,
                resolve=_schedule_options, callbacks=training.schedule_callbacks,
                catalogue=(("learning-rate schedules  [schedule] name",
                            _catalogue("optim", "SCHEDULE_DESCRIPTIONS")),)),
    SectionSpec("regularize", table=RegularizeConfig,
                callbacks=training.regularize_callbacks,
                catalogue=(("regularizers  [regularize], [model], [augment], [train]",
                            _catalogue("regularize", "REGULARIZERS")),)),
    SectionSpec("augment", table=AugmentConfig, check=checks.check_augment,
                callbacks=training.augment_callbacks,
                catalogue=(("augmentations  [augment] transforms",
                            _catalogue("data.augment", "TRANSFORM_DESCRIPTIONS")),)),
    SectionSpec("ensemble", table=EnsembleConfig, optional=True, check=checks.check_ensemble,
                callbacks=training.ensemble_callbacks,
                catalogue=(("snapshot ensembles  [ensemble]",
                            _catalogue("ensemble", "SNAPSHOT_OPTIONS")),)),
    SectionSpec("average", table=AverageConfig, optional=True, check=checks.check_average,
                callbacks=training.average_callbacks,
                catalogue=(("weight averaging  [average] kind",
                            _catalogue("ensemble", "AVERAGING")),)),
    SectionSpec("transfer", table=TransferConfig, optional=True, read=checks.transfer_table,
                check=checks.check_transfer,
                callbacks=training.transfer_callbacks,
                catalogue=(("transfer learning  [transfer]",
                            _catalogue("transfer", "TRANSFER_OPTIONS")),)),
    SectionSpec("train", table=TrainConfig, check=checks.check_train,
                callbacks=training.train_callbacks,
                catalogue=(("speed  [train] precision, compile, channels_last",
                            _catalogue("loop.speed", "SPEED_OPTIONS")),
                           ("batch order  [train] shuffle",
                            _catalogue("loop.batches", "ORDER_OPTIONS")))),
)}
"""Every recipe section, in the order a recipe's dict and TOML list them."""

CHECK_ORDER = ("augment", "train", "average", "ensemble", "transfer")
"""The order the sections' cross-checks run in: each may rely on the sections checked before
it being resolved (``average`` reads ``train.epochs``; ``ensemble`` the resolved averaging
kind)."""

CATALOGUE_ORDER = ("data", "model", "init", "optim", "schedule", "regularize", "augment",
                   "average", "ensemble", "transfer", "train")
"""The order of ``trainwell list``: what a recipe is made of, then what a run adds."""


def section_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    """The training callbacks ``recipe``'s sections add to a run of ``model`` on ``dataset``
    (schedules, penalties, augmentation, early stopping, snapshots, averaging, unfreezing,
    the gradient-flow recorder), section by section; each runs at its own ``order``."""
    return [cb for spec in SECTIONS.values() if spec.callbacks is not None
            for cb in spec.callbacks(recipe, model, dataset)]


def catalogue() -> list[tuple[str, Mapping[str, Any]]]:
    """Every name a recipe can use: per section, a title and the names with their
    descriptions, in :data:`CATALOGUE_ORDER`."""
    return [(title, load()) for section in CATALOGUE_ORDER
            for title, load in SECTIONS[section].catalogue]
