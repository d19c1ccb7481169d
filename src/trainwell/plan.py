"""Planning: a sweep (or one recipe) turned into the runs to do, every recipe resolved.

``plan(source) -> Plan`` is the one place that resolves what a recipe names outside itself:

1. the grid is expanded and every grid point validated, once (:meth:`Sweep.recipes`);
2. each ``[data]`` on a user's file or folder is resolved
   (:func:`~trainwell.data.resolve.resolve_data`): the path must exist and becomes absolute,
   and the data's digest is taken, once per file for the whole grid;
3. each ``[transfer] from`` is resolved (:func:`~trainwell.transfer.resolve.resolve_transfer`):
   a recipe file is read into the recipe (its ``[data]`` resolved as in step 2), a run folder
   or weights file gets its digest, each distinct source once for the whole grid;
4. each run gets its id, a hash of its resolved recipe (:func:`~trainwell.sweep.run_id`);
5. source recipes become runs of their own, trained first as ``<experiment>-source``.

:meth:`Recipe.from_dict <trainwell.recipe.Recipe.from_dict>` itself reads no file; a relative
path is made absolute when its file is read (:func:`~trainwell.recipe.anchor_paths`).

>>> p = plan(Recipe.from_dict({"data": {"name": "digits"}}))
>>> len(p.runs), p.runs[0].id == run_id(p.runs[0].recipe), p.sources
(1, True, [])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell.data.resolve import resolve_data
from trainwell.errors import ConfigError
from trainwell.recipe import Recipe, Section
from trainwell.sweep import Sweep, format_point, load_sweep, run_id
from trainwell.sweep_variants import VARIANT, VARIANT_LABEL
from trainwell.transfer.resolve import resolve_transfer

__all__ = ["Plan", "RunSpec", "plan", "resolve", "SOURCE_SUFFIX"]

SOURCE_SUFFIX = "-source"
"""The experiment of a sweep's transfer-source runs: ``<experiment>-source``."""


@dataclass(frozen=True)
class RunSpec:
    """A run to do: its id, experiment, label, axis values (``point``), seed, resolved recipe."""

    id: str
    experiment: str
    label: str
    point: dict[str, Any]
    seed: int
    recipe: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """The runs of one experiment, resolved: ``runs`` in grid order (seeds innermost), the
    ``axes`` keys, the recipe part every run shares (``fixed``), the experiment's ``note``, and
    the transfer-source runs to do first (``sources``, experiment ``<experiment>-source``)."""

    experiment: str
    runs: list[RunSpec]
    axes: list[str] = field(default_factory=list)
    fixed: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    sources: list[RunSpec] = field(default_factory=list)

    @property
    def source_experiment(self) -> str:
        return self.experiment + SOURCE_SUFFIX


def plan(source: Sweep | Recipe | Mapping[str, Any] | str | Path, *,
         experiment: str | None = None) -> Plan:
    """The :class:`Plan` of a sweep, a recipe (one run), a sweep dict or a sweep file; bad input
    raises :class:`~trainwell.errors.ConfigError` before anything is written."""
    sweep = _as_sweep(source, experiment)
    cache: dict[Any, Any] = {}
    runs = []
    for point, seed, recipe in sweep.recipes():
        resolved = resolve(recipe, cache).to_dict()
        runs.append(RunSpec(id=run_id(resolved), experiment=sweep.experiment,
                            label=format_point(point), point=point, seed=seed, recipe=resolved))
    first = runs[0].recipe if runs else {}
    return Plan(sweep.experiment, runs, [a.key for a in sweep.axes], _fixed(sweep, first),
                str(sweep.base.get("note", "")), _sources(runs, sweep.experiment + SOURCE_SUFFIX))


def resolve(recipe: Recipe, cache: dict[Any, Any] | None = None) -> Recipe:
    """``recipe`` with its ``[data]`` and its ``[transfer]`` source resolved (``cache`` shares
    the work between the recipes of one grid: a data or weights file is hashed once)."""
    cache = {} if cache is None else cache
    recipe = dataclasses.replace(recipe, data=_data(recipe.data, cache))
    if recipe.transfer.source is None:
        return recipe
    key = repr((recipe.transfer, recipe.train.epochs, recipe.data, recipe.model))
    if key not in cache:
        transfer = resolve_transfer(recipe.transfer, epochs=recipe.train.epochs,
                                    data=recipe.data, model=recipe.model)
        if isinstance(transfer.source, dict):
            source = Recipe.from_dict(transfer.source)
            try:
                source = dataclasses.replace(source, data=_data(source.data, cache))
            except ConfigError as exc:
                raise ConfigError(f"transfer.from.{exc.key}", exc.value, exc.allowed) from None
            transfer = dataclasses.replace(transfer, source=source.to_dict())
        cache[key] = transfer
    return dataclasses.replace(recipe, transfer=cache[key])


def _data(section: Section, cache: dict[Any, Any]) -> Section:
    """``[data]`` ``section`` resolved, with the digests taken so far in ``cache``."""
    resolved = resolve_data(section.name, section.options, digests=cache.setdefault(_DIGESTS, {}))
    return section if resolved == section.options else Section(section.name, resolved)


_DIGESTS = ("data", "digests")
"""Where a plan's cache keeps the digests of the data files it has read."""


def _as_sweep(source: Any, experiment: str | None) -> Sweep:
    if isinstance(source, Sweep):
        return source if experiment is None else dataclasses.replace(source, experiment=experiment)
    if isinstance(source, Recipe):
        return Sweep(experiment or "default", source.to_dict())
    if isinstance(source, Mapping):
        return Sweep.from_dict(source, experiment=experiment or "default")
    if isinstance(source, (str, Path)):
        return load_sweep(source, default_experiment=experiment)
    raise ConfigError("sweep", source, "a sweep file, a Sweep, a Recipe or a dict")


def _fixed(sweep: Sweep, first: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved recipe part every run shares: ``first`` without its axes and seed."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in first.items()}
    keys = [a.key for a in sweep.axes if a.key != VARIANT] + ["train.seed"]
    for axis in (a for a in sweep.axes if a.key == VARIANT):
        keys += [f"{section}.{option}" for v in axis.values for section, table in v.items()
                 if section != VARIANT_LABEL for option in table]
    for key in keys:
        section, _, option = key.partition(".")
        if option:
            out.get(section, {}).pop(option, None)
        else:
            out.pop(section, None)
    return out


def _sources(runs: list[RunSpec], experiment: str) -> list[RunSpec]:
    """The distinct source recipes of ``runs``, as runs of ``experiment``."""
    found: dict[str, dict[str, Any]] = {}
    for spec in runs:
        table = spec.recipe.get("transfer")
        src = table.get("from") if isinstance(table, Mapping) else None
        if isinstance(src, dict):
            found.setdefault(run_id(src), src)
    out = []
    for i, (rid, src) in enumerate(found.items(), start=1):
        label = str(src.get("name") or f"source {i}")
        out.append(RunSpec(id=rid, experiment=experiment, label=label,
                           point={"source": label} if len(found) > 1 else {},
                           seed=int(src.get("train", {}).get("seed", 0)), recipe=src))
    return out
