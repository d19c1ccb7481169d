"""What every export reads: an experiment's runs and their metrics, from its results store.

:func:`experiment_runs` opens ``folder/results.db`` read-only (a running sweep is not
blocked) and returns the runs of the experiment's current grid, each with its metrics as the
store keeps them: ``loss`` (and ``step_lr`` under a schedule) per optimizer step,
``grad_norm/<layer>`` and ``act_std/<layer>`` at the recorded steps, and the per-epoch numbers
(``train_loss``, ``val_acc``, ``lr``, ...) at the step each epoch ended. Each run also gets
a name made of its axis values and seed, and the hyperparameters a tracker shows for it.

>>> runs = experiment_runs("runs/init")  # doctest: +SKIP
>>> runs.runs[0].name  # doctest: +SKIP
'init=zeros, model.activation=sigmoid, seed=0'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell.loop.metrics import STEP_METRICS
from trainwell.report.curves import epoch_numbers, stored_series
from trainwell.report.table import pick_experiment
from trainwell.results import MISSING, Results, run_value
from trainwell.run.store import open_store
from trainwell.run.store_read import RunRow
from trainwell.sweep import format_value

__all__ = ["ExportRun", "ExperimentRuns", "experiment_runs", "is_step_metric", "KEY_VALUES",
           "STEP_METRICS"]

KEY_VALUES = ("data.name", "model.name", "model.activation", "model.depth", "model.width",
              "init.name", "optim.name", "optim.lr", "schedule.name", "train.epochs",
              "train.batch_size")
"""Recipe values every run shows as hyperparameters beside its axes (where it has them)."""


Series = dict[str, tuple[list[int], list[float | None]]]
"""Metrics by name: (steps, values) in step order."""


@dataclass(frozen=True)
class ExportRun:
    """One stored run (``row``: recipe, axis values, status, final metrics, times) and its
    metrics by name (``series``)."""

    row: RunRow
    series: Series = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def name(self) -> str:
        """The run's axis values and seed: ``"init=zeros, model.activation=relu, seed=0"``."""
        parts = [f"{key}={format_value(value)}" for key, value in self.row.point.items()]
        return ", ".join([*parts, f"seed={self.row.seed}"])

    @property
    def folder_name(self) -> str:
        """:attr:`name` as a portable file name, then the run id:
        ``"init=zeros,model.activation=relu,seed=0--0123456789ab"``."""
        safe = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", self.name.replace(", ", ","))
        return f"{safe[:150]}--{self.id}"

    def rows(self) -> Iterator[tuple[int, str, float | None]]:
        """Every metric as ``(step, name, value)``, by name then step."""
        for name, (steps, values) in self.series.items():
            for step, value in zip(steps, values, strict=True):
                yield step, name, value

    @property
    def last_step(self) -> int:
        """The last step with a metric (0 for a run without any)."""
        return max((steps[-1] for steps, _ in self.series.values() if steps), default=0)

    def epoch_of(self) -> dict[int, int]:
        """Epoch number (1, 2, ...) by the step each epoch ended."""
        return epoch_numbers(self.series)

    def hparams(self, axes: list[str]) -> dict[str, str | int | float | bool]:
        """Axis values, seed, status and the :data:`KEY_VALUES` no axis shows (an axis ``init``
        shows ``init.name``), each as a number, bool or string."""
        out: dict[str, str | int | float | bool] = {}
        shown = [k for k in KEY_VALUES if not any(k == a or k.startswith(a + ".") for a in axes)]
        for key in [*axes, *shown]:
            value = run_value(self.row, key)
            if value is not MISSING and value is not None and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool)) else format_value(value)
        out["seed"] = self.row.seed
        out["status"] = self.row.status
        return out


def is_step_metric(name: str) -> bool:
    """Whether metric ``name`` is recorded at optimizer steps rather than at epoch ends."""
    return any(name == m or (m.endswith("/") and name.startswith(m)) for m in STEP_METRICS)


@dataclass(frozen=True)
class ExperimentRuns:
    """An experiment's name, its axes, its runs and their rows as :meth:`Results.runs` gives
    them (``records``: id, status, axis values, final metrics, seconds, ...)."""

    folder: Path
    name: str
    axes: list[str]
    runs: list[ExportRun]
    records: list[dict[str, Any]]


def experiment_runs(folder: str | Path, experiment: str | None = None) -> ExperimentRuns:
    """The runs of ``experiment`` (default: the folder's latest) in the store of ``folder``;
    :class:`~trainwell.errors.TrainwellError` when the folder has no results."""
    folder = Path(folder)
    with open_store(folder, readonly=True) as store:
        name = pick_experiment(store, experiment)
        exp = store.experiment(name) or {}
        rows = store.runs(name)
        series = stored_series(store, [r.id for r in rows])
        records = Results(store).runs(name)
    return ExperimentRuns(folder, name, list(exp.get("axes") or []),
                          [ExportRun(r, series.get(r.id, {})) for r in rows], records)
