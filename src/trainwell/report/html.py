"""The comparison report: one self-contained HTML page per experiment folder.

``write_report(folder)`` reads ``folder/results.db`` and writes ``folder/report.html``: what
was compared (the shared recipe and the axes), the results table with the best recipe
highlighted and each grid point's diagnosis, the training-loss and validation-accuracy curves,
the learning rate against step when a schedule changed it, the gradient flow of each grid
point (per-layer ``‖∂L/∂W‖`` and activation std while training), and every run with its
status, time, error and verdicts. Plots are PNG, embedded as ``data:`` URIs: the page loads
nothing from elsewhere and opens offline. Every piece of user text is HTML-escaped by the
template (jinja2, autoescape). The figures are drawn by :mod:`trainwell.report.figures`, the
table and the runs turned into the template's dicts by :mod:`trainwell.report.html_views`;
:mod:`trainwell.report.documents` writes the same figures and table to files for documents.

>>> path = write_report("runs/init-vs-activation")  # doctest: +SKIP
>>> path.name  # doctest: +SKIP
'report.html'
"""

from __future__ import annotations

import datetime
import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2

from trainwell import _toml
from trainwell._io import atomic_write_text
from trainwell.errors import TrainwellError
from trainwell.report import plots, plots_diagnostics
from trainwell.report.charts import label_colors
from trainwell.report.datasets import dataset_views
from trainwell.report.figures import draw_ensembles, draw_figures
from trainwell.report.html_views import flow_view, live_verdicts, run_view, table_view
from trainwell.report.outcome import CHANCE_MARGIN, DEFAULT_NUM_CLASSES, chance_threshold, runs_classes
from trainwell.report.pictures import data_uri
from trainwell.report.rows import results_rows
from trainwell.report.status import check_replace, running_note
from trainwell.report.table import axis_values, pick_experiment, results_grid
from trainwell.run.store import Store, open_store

__all__ = ["write_report", "render_report", "REPORT_NAME"]

REPORT_NAME = "report.html"
STATUS_ORDER = ("done", "diverged", "failed", "interrupted", "running", "pending")


def write_report(folder: str | Path, *, experiment: str | None = None,
                 num_classes: int = DEFAULT_NUM_CLASSES, flow: bool = True,
                 curves: bool = True) -> Path:
    """Write ``folder/report.html`` (atomically) for ``experiment`` and return its path.

    ``num_classes`` sets chance level for the "n/c" rule (see :mod:`trainwell.report.outcome`).
    A report is never replaced by an emptier one (see :mod:`trainwell.report.status`): one
    that shows no runs, or fewer while the store still holds the runs it shows (an experiment
    folder read under another experiment's name); :class:`TrainwellError` says so and keeps it.
    ``flow=False`` leaves out the gradient-flow figures (the dearest to draw), ``curves=False``
    the loss, validation-accuracy and learning-rate figures (the page says so; a later
    ``write_report`` of the folder draws them).
    """
    folder = Path(folder)
    with open_store(folder) as store:
        name = pick_experiment(store, experiment)
        text = render_report(store, name, num_classes=num_classes, flow=flow, curves=curves)
        path = folder / REPORT_NAME
        check_replace(path, text, store=store, experiment=name)
    return atomic_write_text(path, text)


def render_report(store: Store, experiment: str, *,
                  num_classes: int = DEFAULT_NUM_CLASSES, flow: bool = True,
                  curves: bool = True) -> str:
    """The report page of one experiment in ``store``, as a string."""
    exp = store.experiment(experiment)
    if exp is None:
        raise TrainwellError(f"experiment {experiment!r} is not in {str(store.path)!r}")
    runs = store.runs(experiment)
    num_classes = runs_classes(runs, num_classes)
    grid = results_grid(runs, exp["axes"], num_classes=num_classes,
                        folder=Path(store.path).parent)
    rows = results_rows(grid, num_classes=num_classes)
    colors = label_colors([c.label for c in grid.cells])
    figures = draw_figures(store, runs, colors, num_classes, flow=flow, with_curves=curves)
    live = live_verdicts(store, [r.id for r in runs])
    ensembles_png = draw_ensembles(grid, colors)
    counts = Counter(r.status for r in runs)
    best = rows.best
    context = {
        "name": experiment,
        "note": exp.get("note") or "",
        "created": _when(exp.get("created")),
        "generated": _when(datetime.datetime.now().timestamp()),
        "n_runs": len(runs),
        "status_counts": [(s, counts[s]) for s in STATUS_ORDER if counts[s]]
                         + [(s, n) for s, n in counts.items() if s not in STATUS_ORDER],
        "axes": list(axis_values(runs, exp["axes"]).items()),
        "fixed": _fixed_text(exp["fixed"]),
        "datasets": dataset_views(runs),
        "grid": grid,
        "table": table_view(rows, colors),
        "diagnosed_any": rows.has("diagnosis"),
        "best": best and {"label": best.label, "color": colors[best.label],
                          "test": best.test, "train": best.train},
        "loss_png": _uri(figures["loss"]),
        "acc_png": _uri(figures["val-acc"]),
        "lr_png": _uri(figures["lr"]),
        "curves_left_out": not curves,
        "ensembles_png": _uri(ensembles_png),
        "any_ensemble": rows.has("ensemble of seeds (%)"),
        "any_raw": rows.has("model alone (%)"),
        "flow": [flow_view(run, png, runs, colors) for run, png in figures["flow"]],
        "depth_colors": plots_diagnostics.depth_colors(5),
        "flow_zeros": figures["flow_zeros"],
        "every": sorted({run.every for run, _ in figures["flow"]} - {None}),
        "smooth_fraction": f"{100 * plots.SMOOTH_FRACTION:g}%",
        "chance": f"{100 * chance_threshold(num_classes):.1f}",
        "num_classes": num_classes,
        "margin": f"{100 * CHANCE_MARGIN:g}",
        "runs": [run_view(r, colors, num_classes, live.get(r.id, [])) for r in runs],
        "running_note": running_note(runs),
    }
    return _template().render(**context)


def _uri(png: bytes | None) -> str | None:
    return data_uri(png) if png else None


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainwell.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2")


def _fixed_text(fixed: dict[str, Any]) -> str:
    fixed = {k: v for k, v in fixed.items() if v not in ({}, None, "")}
    try:
        return _toml.dumps(fixed)
    except TypeError:
        return json.dumps(fixed, indent=2, default=str)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
