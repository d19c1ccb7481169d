"""An experiment's results for Python: the report's table as rows (for a pandas DataFrame) and
as an HTML table for a notebook cell, and its loss and accuracy curves as matplotlib Figures.

The rows are those of report.html's results table in its one-row-per-grid-point layout
(:func:`~trainwell.report.rows.results_rows`): the grid point's axis values, then ``test acc
(%)`` (mean ± std over seeds, or n/c, failed, pending), ``train acc (%)``, ``gap (points)``,
``seeds``, ``time/run (s)`` and ``notes``, with ``model alone (%)``, ``ensemble of seeds
(%)`` and ``diagnosis`` where the report has them. In the HTML every piece of user text
(experiment, axis values, notes) is escaped.

>>> columns, rows = table_rows(results_rows(results_grid([], ["init.name"])))
>>> columns
['init.name', 'test acc (%)', 'train acc (%)', 'gap (points)', 'seeds', 'time/run (s)', 'notes']
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure

from trainwell.errors import TrainwellError
from trainwell.report import curves, plots
from trainwell.report.charts import label_colors
from trainwell.report.outcome import runs_classes
from trainwell.report.rows import ResultsRows, results_rows
from trainwell.report.table import ResultsGrid, pick_experiment, results_grid
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow

__all__ = ["Experiment", "read_experiment", "table_rows", "table_html", "loss_plot",
           "accuracy_plot"]


@dataclass
class Experiment:
    """One experiment as the report reads it: its runs, grid, chance level and table."""

    name: str
    note: str
    runs: list[RunRow]
    grid: ResultsGrid
    num_classes: int

    @property
    def table(self) -> ResultsRows:
        return results_rows(self.grid, num_classes=self.num_classes)


def read_experiment(store: Store, experiment: str | None = None) -> Experiment:
    """``experiment`` of ``store`` (default: its most recent one), summarized as in its report."""
    name = pick_experiment(store, experiment)
    exp = store.experiment(name) or {}
    runs = store.runs(name)
    num_classes = runs_classes(runs)
    grid = results_grid(runs, exp.get("axes", []), num_classes=num_classes,
                        folder=Path(store.path).parent)
    return Experiment(name, str(exp.get("note") or ""), runs, grid, num_classes)


def table_rows(table: ResultsRows) -> tuple[list[str], list[list[Any]]]:
    """The report's results table, one row per grid point: its column names and rows."""
    return table.names, [table.values(r) for r in table.rows]


_TABLE = """\
<div class="trainwell-results">
<p><strong>{{ title }}</strong>{% if note %} <em>{{ note }}</em>{% endif %}</p>
<table>
<thead><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row, best in rows %}<tr{% if best %} style="font-weight: bold"{% endif %}>
{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<p style="font-size: smaller">{{ caption }}</p>
</div>
"""


@functools.cache
def _template() -> jinja2.Template:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_TABLE)


def table_html(exp: Experiment, *, title: str | None = None) -> str:
    """The results table of ``exp`` as an HTML fragment for a notebook cell; the best recipe's
    row in bold. Autoescaped: user text cannot add markup."""
    table = exp.table
    best = table.best
    caption = (f"{table.caption}. " + (f"Best: {best.label}." if best else
                                       "Best: none yet (no recipe converged on every seed)."))
    return _template().render(
        title=title or table.title(exp.name), note=exp.note, columns=table.names,
        rows=[(table.values(r), r.best) for r in table.rows], caption=caption)


def _colors(runs: Sequence[RunRow]) -> dict[str, str]:
    """The report's colour of each grid point (in grid order)."""
    return label_colors(list(dict.fromkeys(r.label for r in runs)))


def _nothing(what: str, runs: Sequence[RunRow]) -> TrainwellError:
    statuses = ", ".join(sorted({r.status for r in runs})) or "no runs"
    return TrainwellError(f"no {what} to plot: no run has trained (run statuses: {statuses})")


def loss_plot(runs: Sequence[RunRow], series: curves.Series) -> Figure:
    """The report's training-loss figure of ``runs`` (their metric ``series``)."""
    shown = [r for r in runs if r.status in curves.SHOWN]
    fig = plots.loss_plot(curves.loss_curves(series, shown), colors=_colors(runs))
    if fig is None:
        raise _nothing("training loss", runs)
    return fig


def accuracy_plot(runs: Sequence[RunRow], series: curves.Series, *,
                  num_classes: int) -> Figure:
    """The report's validation-accuracy figure of ``runs``, with chance level."""
    shown = [r for r in runs if r.status in curves.SHOWN]
    fig = plots.val_acc_plot(curves.val_acc_curves(series, shown), colors=_colors(runs),
                             chance=1.0 / num_classes)
    if fig is None:
        raise _nothing("validation accuracy", runs)
    return fig
