"""What the report page shows of its results table, its gradient-flow figures and each run,
as plain dicts for its template (:mod:`trainwell.report.html`).

Numbers become text here (percent, durations); the template only lays them out and escapes
them.

>>> from trainwell.run.store_read import RunRow
>>> run = RunRow("x", "e", "he", {}, 0, {}, "done", None, 1, None, None, 75.0,
...              {"test_acc": 0.912, "train_acc": 0.95}, None, None, None)
>>> view = run_view(run, {"he": "#1f77b4"}, 10)
>>> view["test"], view["time"], view["at_chance"]
('91.2', '1 min 15 s', False)
"""

from __future__ import annotations

from typing import Any

from trainwell.report import plots_diagnostics
from trainwell.report.outcome import run_outcome
from trainwell.report.pictures import data_uri
from trainwell.report.rows import ResultsRows, Row
from trainwell.report.verdicts import shown_verdicts, verdict_words
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow

__all__ = ["table_view", "flow_view", "run_view", "live_verdicts"]

_CSS = {"value": "value", "n/c": "nc", "failed": "failed", "pending": "pending"}
"""The CSS class of each result kind."""


def table_view(rows: ResultsRows, colors: dict[str, str]) -> dict[str, Any]:
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


def flow_view(run: plots_diagnostics.FlowRun, png: bytes, runs: list[RunRow],
              colors: dict[str, str]) -> dict[str, Any]:
    """One grid point's gradient-flow figure, with the seed it shows and how that run ended."""
    row = next(r for r in runs if r.label == run.label and r.seed == run.seed)
    return {"label": run.label, "seed": run.seed, "color": colors[run.label], "ended": _ended(row),
            "layers": len(run.layers), "png": data_uri(png)}


def live_verdicts(store: Store, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per run, the live monitor's symptoms in the order found: ``{"step", "words"}``
    (the store's ``verdict/<symptom>`` metrics)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for run, step, name, _ in store.metrics(ids) if ids else []:
        if name.startswith("verdict/"):
            out.setdefault(run, []).append({"step": step, "words": verdict_words(name[8:])})
    return {run: sorted(found, key=lambda v: v["step"]) for run, found in out.items()}


def run_view(r: RunRow, colors: dict[str, str], num_classes: int,
             live: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One run's row in the list of runs: status, time, accuracies, how it ended, the last
    line of its error, its verdicts (:func:`~trainwell.report.verdicts.shown_verdicts`) and
    the live monitor's symptoms (``live``)."""
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


def _percent(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{100 * value:.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
