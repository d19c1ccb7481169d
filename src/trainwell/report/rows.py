"""The results table of an experiment, computed once: its columns, one row per grid point with
every cell's text, and each grid point's result kind. The terminal table, the HTML report, the
markdown export and the notebook table only format these rows, so they show the same columns
under the same names.

A grid point's result is ``value`` (at least one seed trained: its mean ± std), or else
``n/c``, ``failed`` or ``pending`` (:attr:`Cell.kind <trainwell.report.cells.Cell.kind>`,
the one place that rule lives). Columns: the axes (``recipe`` without any), ``test acc (%)``,
``model alone (%)`` (when a grid point averages more than its trained model), ``train acc
(%)``, ``gap (points)``, ``ensemble of seeds (%)`` (when a grid point has one), ``seeds``,
``time/run (s)``, ``diagnosis`` (when a run was diagnosed) and ``notes``.

>>> from trainwell.report.table import results_grid
>>> rows = results_rows(results_grid([], ["init.name"]))
>>> rows.names
['init.name', 'test acc (%)', 'train acc (%)', 'gap (points)', 'seeds', 'time/run (s)', 'notes']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainwell.report.cells import Cell
from trainwell.report.outcome import DEFAULT_NUM_CLASSES, chance_threshold
from trainwell.report.stats import Stat, format_stat
from trainwell.report.table import ResultsGrid
from trainwell.report.verdicts import CellVerdict

__all__ = ["Column", "Row", "ResultsRows", "results_rows", "RESULT_KINDS", "COLUMN_KINDS",
           "STAT_LABELS"]

RESULT_KINDS = ("value", "n/c", "failed", "pending")
"""What a grid point's test-accuracy cell shows: a number, or why there is none."""

COLUMN_KINDS = ("axis", "result", "number", "verdict", "note")
"""``axis``: a grid point's axis value; ``result``: the test accuracy (the row's kind says
which of :data:`RESULT_KINDS`); ``number``: a right-aligned figure; ``verdict``: the
diagnosis; ``note``: what the mean leaves out."""


@dataclass(frozen=True)
class Column:
    """A column of the results table: its name, kind (:data:`COLUMN_KINDS`) and the
    :class:`Row` attribute it shows (for an axis column, the index of the axis value)."""

    name: str
    kind: str
    field: str


@dataclass(frozen=True)
class Row:
    """One grid point, formatted: every text the table shows of it.

    ``train`` and ``gap`` are empty and ``ensemble`` is ``-`` unless ``kind`` is ``value``;
    ``alone`` is the trained model's own test accuracy (``-`` for plain runs).
    """

    label: str
    point: tuple[str, ...]
    kind: str
    best: bool
    test: str
    train: str
    gap: str
    alone: str
    ensemble: str
    ensemble_n: int | None
    seeds: int
    seconds: str
    verdict: CellVerdict | None
    note: str
    stats: dict[str, Stat | None] = field(default_factory=dict)
    ensemble_acc: float | None = None
    seconds_mean: float | None = None

    def value(self, column: Column) -> Any:
        """What this row shows in ``column``."""
        if column.kind == "axis":
            return self.point[int(column.field)]
        if column.kind == "verdict":
            return self.verdict.text if self.verdict is not None else ""
        return getattr(self, column.field)


@dataclass(frozen=True)
class ResultsRows:
    """The results table: ``columns`` and ``rows`` (grid order) for the one-row-per-grid-point
    layout; for exactly two axes, ``grid_rows`` and ``grid_cols`` (their values) lay the same
    rows out as a grid (:meth:`at`)."""

    axes: list[str]
    columns: list[Column]
    rows: list[Row]
    num_classes: int = DEFAULT_NUM_CLASSES
    grid_rows: list[str] = field(default_factory=list)
    grid_cols: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        return "grid" if len(self.axes) == 2 else "flat"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def best(self) -> Row | None:
        return next((r for r in self.rows if r.best), None)

    def has(self, name: str) -> bool:
        return name in self.names

    def values(self, row: Row) -> list[Any]:
        """``row``'s cells, in column order."""
        return [row.value(c) for c in self.columns]

    def numeric(self) -> tuple[list[str], list[list[Any]]]:
        """The table as numbers to compute on, one row per grid point: the axes, ``result``
        (:data:`RESULT_KINDS`), then for each accuracy column its mean, std and ``n`` (the
        seeds it is over) as fractions, ``ensemble of seeds (fraction)`` where shown, ``seeds``,
        ``time/run (s)``, ``diagnosis`` where shown and ``notes``; a missing number is ``None``.
        The means are over every seed with a number, also where :meth:`values` shows ``n/c``."""
        cols: list[tuple[str, Any]] = [(c.name, c) for c in self.columns if c.kind == "axis"]
        cols.append(("result", lambda r: r.kind))
        for column in self.columns:
            label = STAT_LABELS.get(column.field)
            if label is not None and column.kind in ("result", "number"):
                cols += [(f"{label} mean (fraction)", _stat_of(column.field, "mean")),
                         (f"{label} std (fraction)", _stat_of(column.field, "std")),
                         (f"{label} n", _stat_of(column.field, "n"))]
        if self.has("ensemble of seeds (%)"):
            cols.append(("ensemble of seeds (fraction)", lambda r: r.ensemble_acc))
        cols += [("seeds", lambda r: r.seeds), ("time/run (s)", lambda r: r.seconds_mean)]
        cols += [(c.name, c) for c in self.columns if c.kind in ("verdict", "note")]

        def cell(row: Row, how: Any) -> Any:
            return row.value(how) if isinstance(how, Column) else how(row)

        return [n for n, _ in cols], [[cell(r, how) for _, how in cols] for r in self.rows]

    def at(self, grid_row: str, grid_col: str) -> Row | None:
        """The row of the grid point at an axis-1 value and an axis-2 value (grid layout)."""
        return next((r for r in self.rows if r.point == (grid_row, grid_col)), None)

    @property
    def caption(self) -> str:
        """The n/c rule, with this table's chance level."""
        return (f"n/c: diverged, or final train accuracy below "
                f"{100 * chance_threshold(self.num_classes):.1f} %")

    def title(self, experiment: str) -> str:
        return f"{experiment}: test accuracy (%), mean ± std over seeds"


STAT_LABELS = {"test": "test acc", "alone": "model alone acc", "train": "train acc", "gap": "gap"}
"""The numeric table's name of each accuracy column (:meth:`ResultsRows.numeric`)."""


def _stat_of(name: str, part: str) -> Any:
    def get(row: Row) -> Any:
        found = row.stats.get(name)
        return None if found is None else getattr(found, part)
    return get


def results_rows(grid: ResultsGrid, *, num_classes: int = DEFAULT_NUM_CLASSES) -> ResultsRows:
    """The results table of ``grid`` (:func:`~trainwell.report.table.results_grid`)."""
    rows = [_row(c) for c in grid.cells]
    axes = grid.axes or ["recipe"]
    columns = [Column(name, "axis", str(i)) for i, name in enumerate(axes)]
    columns.append(Column("test acc (%)", "result", "test"))
    if any(c.raw is not None for c in grid.cells):
        columns.append(Column("model alone (%)", "number", "alone"))
    columns += [Column("train acc (%)", "number", "train"), Column("gap (points)", "number", "gap")]
    if any(c.ensemble is not None for c in grid.cells):
        columns.append(Column("ensemble of seeds (%)", "number", "ensemble"))
    columns += [Column("seeds", "number", "seeds"), Column("time/run (s)", "number", "seconds")]
    if any(c.verdict is not None for c in grid.cells):
        columns.append(Column("diagnosis", "verdict", "verdict"))
    columns.append(Column("notes", "note", "note"))
    return ResultsRows(list(grid.axes), columns, rows, num_classes, list(grid.rows),
                       list(grid.cols))


def _row(c: Cell) -> Row:
    value = c.kind == "value"
    ensemble = c.ensemble_text if c.ensemble is not None and value else "-"
    return Row(label=c.label, point=tuple(c.values) or (c.label,), kind=c.kind, best=c.best,
               test=c.text("test"), train=c.text("train") if value else "",
               gap=c.text("gap") if value else "", alone=format_stat(c.raw),
               ensemble=ensemble, ensemble_n=c.ensemble.score.n if c.ensemble else None,
               seeds=c.n, seconds="-" if c.seconds is None else f"{c.seconds:.1f}",
               verdict=c.verdict, note=c.note,
               stats={**c.stats, "alone": c.raw_stat},
               ensemble_acc=c.ensemble.score.ensemble if c.ensemble is not None and c.counts["ok"] else None,
               seconds_mean=c.seconds)
