"""The results table of an experiment: final accuracy per grid point, mean ± std over seeds.

Pure functions over stored runs (:class:`~trainwell.run.store_read.RunRow`), shared by the HTML
report and the terminal table, so both show the same numbers. Runs are grouped by grid point,
one :class:`~trainwell.report.cells.Cell` each; whether a seed counts as trained is the n/c
rule of :mod:`trainwell.report.outcome`.

>>> grid = results_grid([], ["init"])
>>> grid.layout, grid.best
('flat', None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell.errors import TrainwellError, did_you_mean
from trainwell.loop.metrics import TEST_ACC, TRAIN_ACC
from trainwell.report.cells import Cell
from trainwell.report.outcome import DEFAULT_NUM_CLASSES, run_outcome
from trainwell.report.stats import finite_number, stat
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow
from trainwell.sweep import format_value

__all__ = ["ResultsGrid", "results_grid", "axis_values", "pick_experiment"]


@dataclass
class ResultsGrid:
    """Cells in grid order; ``layout`` is ``"grid"`` (axis 1 = rows, axis 2 = columns) for
    exactly two axes, else ``"flat"`` (one row per grid point)."""

    axes: list[str]
    cells: list[Cell]
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        return "grid" if len(self.axes) == 2 else "flat"

    @property
    def best(self) -> Cell | None:
        return next((c for c in self.cells if c.best), None)

    def at(self, row: str, col: str) -> Cell | None:
        """The cell at a row value and a column value (grid layout)."""
        return next((c for c in self.cells if c.values == [row, col]), None)


def results_grid(runs: Sequence[RunRow], axes: Sequence[str], *,
                 num_classes: int = DEFAULT_NUM_CLASSES,
                 folder: str | Path | None = None) -> ResultsGrid:
    """Group ``runs`` by grid point (their label) and summarize each group.

    The mean ± std (sample std, over seeds) is taken over every seed that has a final
    accuracy, n/c seeds included; diverged runs have none. The best cell is the converged
    one with the highest mean test accuracy (the first in grid order on a tie). With the
    experiment's ``folder``, each cell also gets the ensemble of its seeds (from their stored
    predictions, :mod:`trainwell.report.ensembles`) and, for snapshot ensembles, the accuracy
    against the number of snapshots.

    >>> results_grid([], ["init", "model.activation"]).layout
    'grid'
    """
    groups: dict[str, list[RunRow]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    cells = [_cell(label, members, axes, num_classes) for label, members in groups.items()]
    if folder is not None:
        from trainwell.report.ensembles import load_all, seed_ensemble, snapshot_curve

        for cell in cells:
            loaded = load_all(folder, cell.runs)
            cell.ensemble = seed_ensemble(folder, cell.runs, loaded=loaded)
            cell.snapshots = snapshot_curve(folder, cell.runs, loaded=loaded)
    ranked = [(c.test[0], c) for c in cells if c.converged and c.test is not None]
    if ranked:
        max(ranked, key=lambda pair: pair[0])[1].best = True
    grid = ResultsGrid(list(axes), cells)
    if grid.layout == "grid":
        values = axis_values(runs, axes)
        grid.rows, grid.cols = values[axes[0]], values[axes[1]]
    return grid


def axis_values(runs: Sequence[RunRow], axes: Sequence[str]) -> dict[str, list[str]]:
    """Each axis's distinct values as displayed (:func:`format_value`), in grid order."""
    out: dict[str, list[str]] = {key: [] for key in axes}
    for run in runs:
        for key in axes:
            shown = format_value(run.point.get(key))
            if shown not in out[key]:
                out[key].append(shown)
    return out


def pick_experiment(store: Store, experiment: str | None = None) -> str:
    """``experiment`` if the store has it; by default the most recently created one."""
    names = store.experiments()
    if not names:
        raise TrainwellError(f"no experiment recorded in {str(store.path)!r}")
    if experiment is None:
        return names[-1]
    if experiment not in names:
        raise TrainwellError(f"experiment {experiment!r} is not in {str(store.path)!r}"
                             f"{did_you_mean(experiment, names)}; recorded: {', '.join(names)}")
    return experiment


def _cell(label: str, runs: list[RunRow], axes: Sequence[str], num_classes: int) -> Cell:
    counts = {"ok": 0, "n/c": 0, "failed": 0, "unfinished": 0}
    for run in runs:
        counts[run_outcome(run, num_classes=num_classes)] += 1
    scored = [r for r in runs if run_outcome(r, num_classes=num_classes) in ("ok", "n/c")]
    stats = {"test": stat([r.final.get(TEST_ACC) for r in scored]),
             "train": stat([r.final.get(TRAIN_ACC) for r in scored]),
             "gap": stat([_difference(r.final.get(TRAIN_ACC), r.final.get(TEST_ACC)) for r in scored])}
    pairs = {k: None if v is None else (v.mean, v.std) for k, v in stats.items()}
    return Cell(label=label, values=[format_value(runs[0].point.get(k)) for k in axes],
                runs=runs, counts=counts, test=pairs["test"], train=pairs["train"],
                gap=pairs["gap"], stats=stats, num_classes=num_classes)


def _difference(a: Any, b: Any) -> float | None:
    x, y = finite_number(a), finite_number(b)
    return None if x is None or y is None else x - y
