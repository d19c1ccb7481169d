"""The comparison report's figures, drawn as PNG from an experiment's stored runs.

The training-loss and validation-accuracy curves of every run shown, the learning rate against
step of each grid point's first seed (only when a schedule changed it), the gradient flow of
each grid point's first seed (per-layer ``‖∂L/∂W‖`` and activation std while training, every
figure to the same scales), and the accuracy of each grid point's ensembles against their
number of members.
The report page embeds them; :mod:`trainwell.report.documents` writes them to files.
"""

from __future__ import annotations

from typing import Any

from trainwell.loop.metrics import LR, STEP_LR
from trainwell.report import curves, plots, plots_diagnostics
from trainwell.report.charts import Curve
from trainwell.report.curves import SHOWN
from trainwell.report.plots_ensembles import ensemble_figure
from trainwell.report.plots_lr import lr_figure, lr_varies
from trainwell.report.table import ResultsGrid
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow

__all__ = ["draw_figures", "draw_ensembles"]


def draw_figures(store: Store, runs: list[RunRow], colors: dict[str, str], num_classes: int, *,
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


def draw_ensembles(grid: ResultsGrid, colors: dict[str, str]) -> bytes | None:
    """Ensemble accuracy against members, for the grid points with an ensemble."""
    seeds = {c.label: c.ensemble.curve for c in grid.cells if c.ensemble is not None}
    snaps = {c.label: c.snapshots for c in grid.cells if c.snapshots}
    return ensemble_figure(seeds, snaps, colors=colors)


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
            scheduled[label] = Curve(*metrics[STEP_LR])
        elif metrics.get(LR, ([], []))[0]:
            steps, values = metrics[LR]
            held[label] = Curve([0, *steps], [values[0], *values])
    if not lr_varies(scheduled):
        return None
    return lr_figure({k: scheduled.get(k) or held[k] for k in firsts
                      if k in scheduled or k in held}, colors=colors)
