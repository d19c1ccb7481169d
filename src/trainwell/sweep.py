"""Sweeps: a recipe with axes, expanded into a grid of runs with stable ids.

An axis is any of:

- a list where the recipe expects one value: ``[init] name = ["zeros", "he_normal"]``
  (for options that are lists themselves, such as ``channels``, a list of lists);
- an array of tables for a whole section: ``[[init]] name = "uniform"  a = -1.0 ...``,
  for components whose options differ;
- an entry of the ``[sweep.axes]`` table: ``"optim.lr" = [0.1, 0.01]``;
- a command-line flag (:func:`Sweep.with_axis`).

- ``[[sweep.variants]]`` tables, each a ``label`` and the partial sections it changes
  (``label = "dropout"``, ``model = {dropout = 0.3}``): one axis of named recipes, for
  comparisons where each point changes something else (``trainwell compare regularize``).

``[sweep] seeds = 3`` repeats every grid point with seeds ``train.seed + 0, 1, 2``.
Setting a component's ``name`` on an axis starts that component from its defaults;
put options that belong to one component in a section axis.
Every run's id is a hash of its resolved recipe (which includes the seed).

Fixed overrides (``--set key.path=value``, :meth:`Sweep.with_overrides`) are applied to every
grid point after the axes are expanded, so they win over the file:

- an axis on the same key stops being an axis (``--set optim.lr=0.5`` fixes a swept lr);
- an override of a section's ``name`` fixes the whole section (a ``[[init]]`` axis ends);
- an option inside a section swept as tables reaches every table whose component takes that
  option (``--set init.epochs=1`` reaches ``dbn`` and ``autoencoder``, not ``he_normal``);
  an option that none of them takes is an error naming the key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainwell import _toml
from trainwell.errors import ConfigError
from trainwell.recipe import (
    DEFAULTS,
    Recipe,
    anchor_paths,
    apply_overrides,
    parse_override,
    takes_option,
)
from trainwell.sections import SECTIONS
from trainwell.sweep_variants import VARIANT, VARIANT_LABEL, check_variants, merge_variant

__all__ = ["Axis", "Sweep", "load_sweep", "run_id", "format_value",
           "format_point"]


@dataclass(frozen=True)
class Axis:
    """A recipe key (``"optim.lr"``) or a whole section (``"init"``) and the values it takes."""

    key: str
    values: tuple[Any, ...]


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
    if isinstance(value, Mapping) and VARIANT_LABEL in value:
        return str(value[VARIANT_LABEL])
    if isinstance(value, Mapping):
        rest = ", ".join(f"{k}={format_value(v)}" for k, v in value.items() if k != "name")
        return f"{value.get('name', '')}({rest})" if rest else str(value.get("name", ""))
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def format_point(point: Mapping[str, Any]) -> str:
    """A grid point's label: its axis values joined by `` · ``."""
    return " · ".join(format_value(v) for v in point.values()) or "recipe"


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
        value = base[section] = dict(value)  # axes are popped from it
        name = value.get("name", DEFAULTS.get(section, {}).get("name"))
        if isinstance(name, list):
            axes.append(Axis(f"{section}.name", tuple(name)))
            value.pop("name")
            continue
        for option, v in list(value.items()):
            if option == "name" or not isinstance(v, list):
                continue
            list_valued = takes_list(SECTIONS[section].schema(name), option)
            if list_valued and not all(isinstance(x, list) for x in v):
                continue
            axes.append(Axis(f"{section}.{option}", tuple(v)))
            value.pop(option)
    return base, axes


def _set(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    if key == VARIANT:
        return merge_variant(raw, value)
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
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        fixed = [_override_key(o) for o in self.overrides]
        kept = tuple(a for a in self.axes if not any(_fixes(k, a.key) for k in fixed))
        object.__setattr__(self, "axes", kept)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, experiment: str) -> Sweep:
        data = copy.deepcopy(dict(raw))
        spec = data.pop("sweep", {})
        if not isinstance(spec, Mapping):
            raise ConfigError("sweep", spec, "a table [sweep]")
        unknown = set(spec) - {"experiment", "seeds", "axes", "variants"}
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"sweep.{key}", spec[key], "a known option; allowed: experiment, "
                              "seeds, axes, variants")
        base, axes = _split_axes(data)
        if "variants" in spec:
            axes.insert(0, Axis(VARIANT, check_variants(spec["variants"])))
        extra = spec.get("axes", {})
        if not isinstance(extra, Mapping):
            raise ConfigError("sweep.axes", extra, 'a table of "key.path" = [values]')
        named = data.get("name") if isinstance(data.get("name"), str) and data.get("name") else None
        sweep = cls(str(spec.get("experiment", named or experiment)), base, tuple(axes),
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
        return dataclasses.replace(self, axes=tuple(axes))

    def with_seeds(self, seeds: int) -> Sweep:
        return dataclasses.replace(self, seeds=_seeds(seeds))

    def with_overrides(self, overrides: Sequence[str]) -> Sweep:
        """This sweep with fixed ``key.path=value`` overrides, applied to every grid point after
        the axes are expanded; an axis they fix is no longer an axis (see the module doc)."""
        for text in overrides:
            parse_override(text)  # a malformed override fails here, before any expansion
        return dataclasses.replace(self, overrides=self.overrides + tuple(overrides))

    def points(self) -> list[dict[str, Any]]:
        """The grid points: one dict ``axis key -> value`` per combination, first axis slowest."""
        combos = itertools.product(*(a.values for a in self.axes))
        return [dict(zip((a.key for a in self.axes), combo, strict=True)) for combo in combos]

    def recipes(self) -> list[tuple[dict[str, Any], int, Recipe]]:
        """Every run: (grid point, seed, validated recipe). Bad values name their axis."""
        base_seed = _override_value(self.overrides, "train.seed",
                                    self.base.get("train", {}).get("seed", 0))
        out = []
        reached: set[str] = set()
        for point in self.points():
            raw = self.base
            for key, value in point.items():
                raw = _set(raw, key, value)
            raw = self._overridden(raw, point, reached)
            for i in range(self.seeds):
                seed = base_seed + i if isinstance(base_seed, int) else base_seed
                out.append((point, seed, Recipe.from_dict(_set(raw, "train.seed", seed))))
        missed = [o for o in self.overrides if o not in reached]
        if missed:
            path, value = parse_override(missed[0])
            section = path[0]
            names = ", ".join(str(v.get("name")) for v in self._section_axis(section).values)
            raise ConfigError(".".join(path), value, f"an option of at least one [[{section}]] "
                              f"component of the sweep ({names})")
        return out

    def _section_axis(self, section: str) -> Axis:
        return next(a for a in self.axes if a.key == section)

    def _overridden(self, raw: dict[str, Any], point: Mapping[str, Any],
                    reached: set[str]) -> dict[str, Any]:
        """``raw`` with every override applied that this point's components take."""
        applicable = []
        for text in self.overrides:
            path, _ = parse_override(text)
            section = path[0]
            if len(path) == 2 and section in point and path[1] != "name":
                component = raw[section].get("name", DEFAULTS[section]["name"])
                if not takes_option(section, component, path[1]):
                    continue
            applicable.append(text)
            reached.add(text)
        return apply_overrides(raw, applicable)


def _override_key(text: str) -> str:
    return ".".join(parse_override(text)[0])


def _override_value(overrides: Sequence[str], key: str, default: Any) -> Any:
    """The value the last override of ``key`` sets, else ``default``."""
    for text in reversed(overrides):
        path, value = parse_override(text)
        if ".".join(path) == key:
            return value
    return default


def _fixes(override_key: str, axis_key: str) -> bool:
    """True when an override of ``override_key`` leaves axis ``axis_key`` one value."""
    return override_key == axis_key or (override_key == f"{axis_key}.name")


def _seeds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("sweep.seeds", value, "a whole number >= 1 (runs per grid point)")
    return value


def load_sweep(path: str | Path | None, *, default_experiment: str | None = None) -> Sweep:
    """Read a sweep file; the experiment is named by ``[sweep] experiment``, else by the
    file's top-level ``name``, else by the file name."""
    if path is None:
        return Sweep.from_dict({}, experiment=default_experiment or "default")
    raw = anchor_paths(_toml.read(path, what="sweep file"), Path(path).parent)
    return Sweep.from_dict(raw, experiment=default_experiment or Path(path).stem)
