"""What :func:`trainwell.train` and :func:`trainwell.compare` run, built from their arguments:
the recipe of one run (:func:`build_recipe`) and the sweep of a comparison (:func:`build_sweep`,
its axes from the parameters of :data:`FLAG_AXES` and ``axis=``), each with the ``[data]``
section of data handed over from Python in place of its own.

A source is a file, a built-in experiment's name, a :class:`~trainwell.sweep.Sweep`, a
:class:`~trainwell.recipe.Recipe` or a dict; an axis's values are a list, one value, or the
command line's comma string (the forms are those of :mod:`trainwell.api`).

>>> build_sweep({"train": {"epochs": 1}}, lr="0.1,0.01").axes
(Axis(key='optim.lr', values=(0.1, 0.01)),)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell import _toml
from trainwell.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from trainwell.recipe import Recipe
    from trainwell.sweep import Sweep

__all__ = ["build_sweep", "build_recipe", "sweep_with_data", "FLAG_AXES"]

FLAG_AXES = {"init": "init.name", "activation": "model.activation", "optim": "optim.name",
             "model": "model.name", "data": "data.name", "lr": "optim.lr",
             "schedule": "schedule.name"}
"""The axes with a parameter of their own: parameter -> recipe key."""


def build_sweep(source: Any = None, *, axis: Mapping[str, Any] | Sequence[str] | str | None = None,
                seeds: int | None = None, name: str | None = None,
                overrides: Sequence[str] = (), **flags: Any) -> Sweep:
    """The sweep :func:`~trainwell.api.compare` runs: ``source`` with the axes of ``flags``
    (the parameters of :data:`FLAG_AXES`) and ``axis``, ``seeds`` and ``key.path=value``
    ``overrides``."""
    s = _sweep_source(source, name)
    if name is not None:
        s = dataclasses.replace(s, experiment=name)
    for flag, values in flags.items():
        if flag not in FLAG_AXES:
            raise ConfigError(flag, values, f"an axis among {', '.join(FLAG_AXES)}"
                              f"{did_you_mean(flag, FLAG_AXES)}")
        if values is not None:
            s = s.with_axis(FLAG_AXES[flag], _axis_values(flag, values))
    for key, values in _axis_items(axis):
        s = s.with_axis(key, _axis_values(key, values))
    if seeds is not None:
        s = s.with_seeds(seeds)
    if overrides:
        s = s.with_overrides(list(overrides))
    return s


def build_recipe(source: Any = None, overrides: Sequence[str] = (),
                 data: Mapping[str, Any] | None = None) -> Recipe:
    """The recipe :func:`~trainwell.api.train` runs: ``source`` (a file, a Recipe, a dict or
    ``None``) with ``key.path=value`` ``overrides``; ``data``, a ``[data]`` section from
    :func:`~trainwell.data.data_section`, replaces the source's data."""
    from trainwell.recipe import Recipe, apply_overrides, load_recipe

    if data is not None:
        if isinstance(source, (str, Path)):
            from trainwell.sweep import anchor_paths

            raw = anchor_paths(_toml.read(source, what="recipe file"), Path(source).parent)
        elif isinstance(source, Recipe):
            raw = source.to_dict()
        elif source is None or isinstance(source, Mapping):
            raw = dict(source or {})
        else:
            raise ConfigError("recipe", source, "a recipe file, a Recipe or a dict of its sections")
        from trainwell.data.memory import replace_data

        return Recipe.from_dict(apply_overrides(replace_data(raw, data), overrides))
    if source is None or isinstance(source, (str, Path)):
        return load_recipe(source, overrides)
    if isinstance(source, Recipe):
        return source.replace(overrides)
    if isinstance(source, Mapping):
        return Recipe.from_dict(apply_overrides(source, overrides))
    raise ConfigError("recipe", source, "a recipe file, a Recipe or a dict of its sections")


def sweep_with_data(s: Sweep, section: Mapping[str, Any]) -> Sweep:
    """``s`` with ``section``, a ``[data]`` section from :func:`~trainwell.data.data_section`,
    as every run's data; a sweep with an axis on the data is refused."""
    swept = [a.key for a in s.axes if a.key == "data" or a.key.startswith("data.")]
    if swept:
        raise ConfigError("data", f"an axis on {swept[0]}", "data= or a data axis, not both: "
                          "data= gives every run the same data")
    from trainwell.data.memory import replace_data

    return dataclasses.replace(s, base=replace_data(s.base, section))


def _sweep_source(source: Any, name: str | None) -> Sweep:
    from trainwell.experiments import EXPERIMENTS, experiment_path
    from trainwell.recipe import Recipe
    from trainwell.sweep import Sweep, load_sweep

    if source is None:
        return load_sweep(experiment_path("init"), default_experiment=name)
    if isinstance(source, Sweep):
        return source
    if isinstance(source, Recipe):
        return Sweep(name or "default", source.to_dict())
    if isinstance(source, Mapping):
        return Sweep.from_dict(source, experiment=name or "default")
    if isinstance(source, Path):
        return load_sweep(source, default_experiment=name)
    if isinstance(source, str):
        if Path(source).is_file() or source not in EXPERIMENTS:
            return load_sweep(source, default_experiment=name)
        return load_sweep(experiment_path(source), default_experiment=name)
    raise ConfigError("sweep", source, f"a sweep file, a built-in experiment "
                      f"({', '.join(EXPERIMENTS)}), a Sweep, a Recipe or a dict")


def _axis_items(axis: Mapping[str, Any] | Sequence[str] | str | None) -> list[tuple[str, Any]]:
    """``axis`` as (key, values) pairs: from a mapping, or from ``key.path=v1,v2`` strings."""
    if axis is None:
        return []
    if isinstance(axis, Mapping):
        return list(axis.items())
    items = []
    for item in [axis] if isinstance(axis, str) else axis:
        key, sep, text = str(item).partition("=")
        if not isinstance(item, str) or not sep or not key.strip():
            raise ConfigError("axis", item, "key.path=v1,v2,...")
        items.append((key.strip(), text))
    return items


def _axis_values(key: str, values: Any) -> list[Any]:
    """An axis's values: a list as it is, one value as a list of one, and the command line's
    comma string read as TOML values (``"0.1,0.01"`` -> ``[0.1, 0.01]``)."""
    from trainwell.recipe import parse_override

    if isinstance(values, str):
        return [parse_override(f"v={v.strip()}")[1] for v in values.split(",") if v.strip()]
    if isinstance(values, (list, tuple)):
        return list(values)
    if isinstance(values, (int, float, Mapping)):
        return [values]
    raise ConfigError(key, values, "a list of values, one value, or a comma-separated string")
