"""Sweeps: a recipe with axes, expanded into a grid of runs with stable ids.

An axis is any of:

- a list where the recipe expects one value: ``[init] name = ["zeros", "he_normal"]``
  (for options that are lists themselves, such as ``channels``, a list of lists);
- an array of tables for a whole section: ``[[init]] name = "uniform"  a = -1.0 ...``,
  for components whose options differ;
- an entry of the ``[sweep.axes]`` table: ``"optim.lr" = [0.1, 0.01]``;
- a command-line flag (:func:`Sweep.with_axis`).

``[sweep] seeds = 3`` repeats every grid point with seeds ``train.seed + 0, 1, 2``.
Setting a component's ``name`` on an axis starts that component from its defaults;
put options that belong to one component in a section axis.
Every run's id is a hash of its resolved recipe (which includes the seed).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainwell import _toml
from trainwell.errors import ConfigError
from trainwell.recipe import DEFAULTS, SECTIONS, Recipe, apply_overrides

__all__ = ["Axis", "Sweep", "load_sweep", "run_id", "format_value", "format_point"]


@dataclass(frozen=True)
class Axis:
    """A recipe key (``"optim.lr"``) or a whole section (``"init"``) and the values it takes."""

    key: str
    values: tuple[Any, ...]

    @property
    def is_section(self) -> bool:
        return "." not in self.key


def run_id(recipe: Mapping[str, Any]) -> str:
    """A stable 12-hex-digit id of a resolved recipe dict (seed included).

    >>> run_id({"train": {"seed": 0}}) == run_id({"train": {"seed": 0}})
    True
    """
    canonical = json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def format_value(value: Any) -> str:
    """Short display form of an axis value: ``uniform(a=-1.0, b=1.0)`` for a section table.

    >>> format_value({"name": "normal", "std": 0.01})
    'normal(std=0.01)'
    """
    if isinstance(value, Mapping):
        rest = ", ".join(f"{k}={format_value(v)}" for k, v in value.items() if k != "name")
        return f"{value.get('name', '')}({rest})" if rest else str(value.get("name", ""))
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_point(point: Mapping[str, Any]) -> str:
    """A grid point's label: its axis values joined by `` · ``."""
    return " · ".join(format_value(v) for v in point.values()) or "recipe"


def _schema_fn(section: str, name: Any):
    from trainwell import models
    from trainwell.optim.schedules import SCHEDULES
    from trainwell.names import get
    from trainwell.recipe import TrainConfig, _options_fn

    if section == "train":
        return TrainConfig
    if section == "model":
        return models.model_options_fn(name)
    if section == "schedule":
        return get(SCHEDULES, name, key="schedule.name")
    return _options_fn(section, name)


def _split_axes(raw: dict[str, Any]) -> tuple[dict[str, Any], list[Axis]]:
    """Take the axes out of a raw recipe dict; return the fixed part and the axes."""
    from trainwell.params import takes_list

    base, axes = copy.deepcopy(raw), []
    for section in [k for k in raw if k in SECTIONS]:  # file order: the first axis is the rows
        value = base.get(section)
        if isinstance(value, list):
            if not value or not all(isinstance(v, Mapping) for v in value):
                raise ConfigError(section, value, f"a table [{section}] or an array of tables "
                                  f"[[{section}]] (one per value of the axis)")
            axes.append(Axis(section, tuple(value)))
            base[section] = {}
            continue
        if not isinstance(value, Mapping):
            continue
        name = value.get("name", DEFAULTS.get(section, {}).get("name"))
        if isinstance(name, list):
            axes.append(Axis(f"{section}.name", tuple(name)))
            value.pop("name")
            continue
        for option, v in list(value.items()):
            if option == "name" or not isinstance(v, list):
                continue
            list_valued = takes_list(_schema_fn(section, name), option)
            if list_valued and not all(isinstance(x, list) for x in v):
                continue
            axes.append(Axis(f"{section}.{option}", tuple(v)))
            value.pop(option)
    return base, axes


def _set(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    if "." not in key:
        out = copy.deepcopy(raw)
        out[key] = copy.deepcopy(dict(value))
        return out
    return apply_overrides(raw, [f"{key}={_toml_value(value)}"])


def _toml_value(value: Any) -> str:
    return _toml.dumps({"v": value}).split(" = ", 1)[1].strip()


@dataclass(frozen=True)
class Sweep:
    """A base recipe (raw dict), its axes, and the seeds each grid point runs with."""

    experiment: str
    base: dict[str, Any]
    axes: tuple[Axis, ...] = ()
    seeds: int = 1

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, experiment: str) -> Sweep:
        raw = copy.deepcopy(dict(raw))
        spec = raw.pop("sweep", {})
        if not isinstance(spec, Mapping):
            raise ConfigError("sweep", spec, "a table [sweep]")
        unknown = set(spec) - {"experiment", "seeds", "axes"}
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"sweep.{key}", spec[key], "a known option; allowed: experiment, "
                              "seeds, axes")
        base, axes = _split_axes(raw)
        extra = spec.get("axes", {})
        if not isinstance(extra, Mapping):
            raise ConfigError("sweep.axes", extra, 'a table of "key.path" = [values]')
        sweep = cls(str(spec.get("experiment", experiment)), base, tuple(axes),
                    _seeds(spec.get("seeds", 1)))
        for key, values in extra.items():
            sweep = sweep.with_axis(key, values)
        return sweep

    def with_axis(self, key: str, values: Sequence[Any]) -> Sweep:
        """This sweep with axis ``key`` set to ``values``; an existing axis is narrowed or
        replaced (``--init zeros,he_normal`` keeps those entries of an ``[[init]]`` axis)."""
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"sweep.axes.{key}", values, "a non-empty list of values")
        section, _, option = key.partition(".")
        if section not in SECTIONS:
            raise ConfigError(key, list(values), f"a key in one of the sections {', '.join(SECTIONS)}")
        axes = list(self.axes)
        whole = next((a for a in axes if a.key == section), None)
        if whole is not None and option == "name":
            by_name = {v.get("name"): v for v in whole.values}
            new = Axis(section, tuple(by_name.get(v, {"name": v}) for v in values))
            axes[axes.index(whole)] = new
        else:
            axes = [a for a in axes if a.key != key] + [Axis(key, tuple(values))]
        return Sweep(self.experiment, self.base, tuple(axes), self.seeds)

    def with_seeds(self, seeds: int) -> Sweep:
        return Sweep(self.experiment, self.base, self.axes, _seeds(seeds))

    def with_overrides(self, overrides: Sequence[str]) -> Sweep:
        """Fixed ``key.path=value`` overrides; a key that is an axis is no longer one."""
        keys = {o.partition("=")[0].strip() for o in overrides}
        axes = tuple(a for a in self.axes if a.key not in keys)
        return Sweep(self.experiment, apply_overrides(self.base, overrides), axes, self.seeds)

    def points(self) -> list[dict[str, Any]]:
        """The grid points: one dict ``axis key -> value`` per combination, first axis slowest."""
        combos = itertools.product(*(a.values for a in self.axes))
        return [dict(zip((a.key for a in self.axes), combo)) for combo in combos]

    def recipes(self) -> list[tuple[dict[str, Any], int, Recipe]]:
        """Every run: (grid point, seed, validated recipe). Bad values name their axis."""
        base_seed = self.base.get("train", {}).get("seed", 0)
        out = []
        for point in self.points():
            raw = self.base
            for key, value in point.items():
                raw = _set(raw, key, value)
            for i in range(self.seeds):
                seed = base_seed + i if isinstance(base_seed, int) else base_seed
                out.append((point, seed, Recipe.from_dict(_set(raw, "train.seed", seed))))
        return out

    def fixed(self) -> dict[str, Any]:
        """The resolved recipe part every run shares (axes and the seed taken out)."""
        recipes = self.recipes()
        first = recipes[0][2].to_dict()
        for key in [a.key for a in self.axes] + ["train.seed"]:
            section, _, option = key.partition(".")
            if option:
                first.get(section, {}).pop(option, None)
            else:
                first.pop(section, None)
        return first


def _seeds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("sweep.seeds", value, "a whole number >= 1 (runs per grid point)")
    return value


def load_sweep(path: str | Path | None, *, default_experiment: str | None = None) -> Sweep:
    """Read a sweep file; the experiment is named by ``[sweep] experiment`` or the file name."""
    if path is None:
        return Sweep.from_dict({}, experiment=default_experiment or "default")
    raw = _toml.read(path, what="sweep file")
    return Sweep.from_dict(raw, experiment=default_experiment or Path(path).stem)
