"""The comparison report: one self-contained HTML page per experiment folder.

``write_report(folder)`` reads ``folder/results.db`` and writes ``folder/report.html``: what
was compared (the shared recipe and the axes), the results table with the best recipe
highlighted and each grid point's diagnosis, the training-loss and validation-accuracy curves,
the learning rate against step when a schedule changed it, the gradient flow of each grid
point (per-layer ``‖∂L/∂W‖`` and activation std while training), and every run with its
status, time, error and verdicts. Plots are PNG, embedded as ``data:`` URIs: the page loads
nothing from elsewhere and opens offline. Every piece of user text is HTML-escaped by the
template (jinja2, autoescape).

>>> path = write_report("runs/init-vs-activation")  # doctest: +SKIP
>>> path.name  # doctest: +SKIP
'report.html'
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2

from trainwell import _toml
from trainwell._io import atomic_write_bytes, atomic_write_text
from trainwell.errors import TrainwellError
from trainwell.loop.metrics import LR, STEP_LR
from trainwell.report import curves, plots, plots_diagnostics
from trainwell.report.curves import SHOWN
from trainwell.report.datasets import dataset_views
from trainwell.report.markdown import markdown_table
from trainwell.report.rows import ResultsRows, Row, results_rows
from trainwell.report.status import check_replace, running_note
from trainwell.report.table import (
    CHANCE_MARGIN,
    DEFAULT_NUM_CLASSES,
    ResultsGrid,
    axis_values,
    chance_threshold,
    pick_experiment,
    results_grid,
    run_outcome,
    runs_classes,
    shown_verdicts,
    verdict_words,
)
from trainwell.run.store import Store, open_store
from trainwell.run.store_read import RunRow

__all__ = ["write_report", "render_report", "export_figures", "fill_tables", "pick_experiment",
           "REPORT_NAME"]

REPORT_NAME = "report.html"
STATUS_ORDER = ("done", "diverged", "failed", "interrupted", "running", "pending")


def write_report(folder: str | Path, *, experiment: str | None = None,
                 num_classes: int = DEFAULT_NUM_CLASSES, flow: bool = True,
                 curves: bool = True) -> Path:
    """Write ``folder/report.html`` (atomically) for ``experiment`` and return its path.

    ``num_classes`` sets chance level for the "n/c" rule (see :mod:`trainwell.report.table`).
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
    colors = plots.label_colors([c.label for c in grid.cells])
    figures = _figures(store, runs, colors, num_classes, flow=flow, with_curves=curves)
    live = _live_verdicts(store, [r.id for r in runs])
    ensembles_png = _ensemble_figure(grid, colors)
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
        "table": _table(rows, colors),
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
        "flow": [_flow_view(run, png, runs, colors) for run, png in figures["flow"]],
        "depth_colors": plots_diagnostics.depth_colors(5),
        "flow_zeros": figures["flow_zeros"],
        "every": sorted({run.every for run, _ in figures["flow"]} - {None}),
        "smooth_fraction": f"{100 * plots.SMOOTH_FRACTION:g}%",
        "chance": f"{100 * chance_threshold(num_classes):.1f}",
        "num_classes": num_classes,
        "margin": f"{100 * CHANCE_MARGIN:g}",
        "runs": [_run_view(r, colors, num_classes, live.get(r.id, [])) for r in runs],
        "running_note": running_note(runs),
    }
    return _template().render(**context)


def export_figures(folder: str | Path, out_dir: str | Path, *, experiment: str | None = None,
                   num_classes: int = DEFAULT_NUM_CLASSES) -> list[Path]:
    """Write the report's plots (``<experiment>-loss.png``, ``<experiment>-val-acc.png``,
    ``<experiment>-lr.png`` under a schedule, ``<experiment>-ensembles.png`` with ensembles)
    and its results table (``<experiment>-table.md``)
    into ``out_dir``, for documents."""
    out = Path(out_dir)
    with open_store(folder) as store:
        name = pick_experiment(store, experiment)
        exp = store.experiment(name)
        assert exp is not None  # pick_experiment returns a recorded name
        runs = store.runs(name)
        grid = results_grid(runs, exp["axes"], num_classes=num_classes,
                            folder=Path(store.path).parent)
        colors = plots.label_colors([c.label for c in grid.cells])
        figures = _figures(store, runs, colors, num_classes, flow=False)
        figures["ensembles"] = _ensemble_figure(grid, colors)
    table = markdown_table(results_rows(grid, num_classes=num_classes))
    written = [atomic_write_text(out / f"{name}-table.md", table)]
    for suffix in ("loss", "val-acc", "lr", "ensembles"):
        if (png := figures[suffix]) is not None:
            written.append(atomic_write_bytes(out / f"{name}-{suffix}.png", png))
    return written + fill_tables(out, name, table)


def fill_tables(folder: str | Path, experiment: str, table: str) -> list[Path]:
    r"""Put ``table`` between ``<!-- results: EXPERIMENT -->`` and ``<!-- /results -->`` in
    every markdown page of ``folder`` that has those markers; return the pages rewritten.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "p.md").write_text("x\n<!-- results: e -->\nold\n<!-- /results -->\n")
    >>> [p.name for p in fill_tables(d, "e", "| new |\n")], (d / "p.md").read_text()
    (['p.md'], 'x\n<!-- results: e -->\n| new |\n<!-- /results -->\n')
    """
    start, end = f"<!-- results: {experiment} -->", "<!-- /results -->"
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    written = []
    for page in sorted(Path(folder).glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if start in text:
            new = pattern.sub(lambda _: f"{start}\n{table}{end}", text)
            if new != text:
                written.append(atomic_write_text(page, new))
    return written


def _figures(store: Store, runs: list[RunRow], colors: dict[str, str], num_classes: int, *,
             flow: bool = True, with_curves: bool = True) -> dict[str, Any]:
    """The report's PNGs: ``loss``, ``val-acc``, ``lr`` (``None`` without a schedule that
    changed it; all three ``None`` without ``with_curves``) and ``flow``, a (run, PNG) pair per
    grid point with gradient-flow records."""
    shown = [r for r in runs if r.status in SHOWN]
    firsts = _first_seeds(shown, list(colors))
    series = curves.stored_series(store, [r.id for r in shown]) if with_curves or flow else {}
    flow_runs = [f for label, r in firsts.items() if flow and (
        f := plots_diagnostics.flow_run(label, r.seed, series.get(r.id, {})))]
    limits = plots_diagnostics.flow_limits(flow_runs)
    drawn = {
        "loss": plots.loss_figure(curves.loss_curves(series, shown), colors=colors),
        "val-acc": plots.val_acc_figure(curves.val_acc_curves(series, shown), colors=colors,
                                        chance=1.0 / num_classes),
        "lr": _lr_figure(series, firsts, colors),
    } if with_curves else {"loss": None, "val-acc": None, "lr": None}
    return {**drawn,
            "flow": [(run, plots_diagnostics.gradient_flow_figure(run, limits=limits))
                     for run in flow_runs],
            "flow_zeros": limits.grad[2] or limits.act[2]}


def _ensemble_figure(grid: ResultsGrid, colors: dict[str, str]) -> bytes | None:
    """Ensemble accuracy against members, for the grid points with an ensemble."""
    seeds = {c.label: c.ensemble.curve for c in grid.cells if c.ensemble is not None}
    snaps = {c.label: c.snapshots for c in grid.cells if c.snapshots}
    return plots.ensemble_figure(seeds, snaps, colors=colors)


def _uri(png: bytes | None) -> str | None:
    return plots.data_uri(png) if png else None


def _flow_view(run: plots_diagnostics.FlowRun, png: bytes, runs: list[RunRow],
               colors: dict[str, str]) -> dict[str, Any]:
    row = next(r for r in runs if r.label == run.label and r.seed == run.seed)
    return {"label": run.label, "seed": run.seed, "color": colors[run.label], "ended": _ended(row),
            "layers": len(run.layers), "png": plots.data_uri(png)}


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainwell.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2")


def _first_seeds(shown: list[RunRow], labels: list[str]) -> dict[str, RunRow]:
    """Each grid point's run with the lowest seed, in grid order."""
    out: dict[str, RunRow] = {}
    for r in sorted(shown, key=lambda r: r.seed):
        out.setdefault(r.label, r)
    return {label: out[label] for label in labels if label in out}


def _lr_figure(series: curves.Series, firsts: dict[str, RunRow],
               colors: dict[str, str]) -> bytes | None:
    """Per-step lr of each grid point's first seed, drawn when a schedule changed it; a run
    without a schedule has no per-step rows and holds its per-epoch lr from step 0."""
    scheduled, held = {}, {}
    for label, r in firsts.items():
        metrics = series.get(r.id, {})
        if STEP_LR in metrics:
            scheduled[label] = plots.Curve(*metrics[STEP_LR])
        elif metrics.get(LR, ([], []))[0]:
            steps, values = metrics[LR]
            held[label] = plots.Curve([0, *steps], [values[0], *values])
    if not plots.lr_varies(scheduled):
        return None
    return plots.lr_figure({k: scheduled.get(k) or held[k] for k in firsts
                            if k in scheduled or k in held}, colors=colors)


def _table(rows: ResultsRows, colors: dict[str, str]) -> dict[str, Any]:
    """The results table for the template: each row with its colour and CSS class."""
    def view(row: Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {**vars(row), "color": colors[row.label], "css": _CSS[row.kind],
                "value": {c.name: row.value(c) for c in rows.columns}}

    if rows.layout == "grid":
        return {"rows": [(r, [view(rows.at(r, c)) for c in rows.grid_cols])
                         for r in rows.grid_rows], "cols": rows.grid_cols}
    return {"columns": rows.columns, "cells": [view(r) for r in rows.rows]}


_CSS = {"value": "value", "n/c": "nc", "failed": "failed", "pending": "pending"}
"""The CSS class of each result kind."""


def _live_verdicts(store: Store, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per run, the live monitor's symptoms in the order found: ``{"step", "words"}``
    (the store's ``verdict/<symptom>`` metrics)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for run, step, name, _ in store.metrics(ids) if ids else []:
        if name.startswith("verdict/"):
            out.setdefault(run, []).append({"step": step, "words": verdict_words(name[8:])})
    return {run: sorted(found, key=lambda v: v["step"]) for run, found in out.items()}


def _run_view(r: RunRow, colors: dict[str, str], num_classes: int,
              live: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error = (r.error or "").strip()
    last = next((line for line in reversed(error.splitlines()) if line.strip()), "")
    return {
        "id": r.id, "label": r.label, "color": colors.get(r.label, "#888888"), "seed": r.seed,
        "status": r.status, "at_chance": r.status == "done" and run_outcome(
            r, num_classes=num_classes) == "n/c",
        "attempts": r.attempts, "time": _duration(r.seconds),
        "test": _percent(r.final.get("test_acc")), "train": _percent(r.final.get("train_acc")),
        "ended": _ended(r), "name": str(r.recipe.get("name") or ""),
        "note": str(r.recipe.get("note") or ""),
        "error": error, "error_line": last if len(last) <= 120 else last[:117] + "...",
        "verdicts": [{"words": verdict_words(str(v.get("kind", ""))),
                      "healthy": v.get("kind") == "healthy", "message": str(v.get("message", "")),
                      "fix": str(v.get("fix") or "")}
                     for v in shown_verdicts(r, num_classes=num_classes)],
        "live": live or [],
    }


def _ended(r: RunRow) -> str:
    if r.status == "diverged":
        return f"diverged at step {r.diverged_step}" if r.diverged_step is not None else "diverged"
    return r.stop_reason or ""


def _fixed_text(fixed: dict[str, Any]) -> str:
    fixed = {k: v for k, v in fixed.items() if v not in ({}, None, "")}
    try:
        return _toml.dumps(fixed)
    except TypeError:
        return json.dumps(fixed, indent=2, default=str)


def _percent(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{100 * value:.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
