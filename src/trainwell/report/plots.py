"""The comparison report's curves: training loss and validation accuracy, one line per grid
point.

Each line is the mean over seeds; the shaded band spans the seeds' minimum to maximum. The
loss of every run is first smoothed by a trailing moving average over
``max(1, round(SMOOTH_FRACTION * steps))`` optimizer steps (2% of the longest run), which
hides minibatch noise but keeps the shape. A diverged run ends at the step where its loss
stopped being finite, marked with an ``x``. The loss axis stops at ``CLIP_FACTOR`` times the
largest starting loss, so a run that blows up leaves the chart (its ``x`` sits on the top
edge) instead of flattening every other curve; it is logarithmic when the values shown span
more than :data:`~trainwell.report.charts.LOG_RANGE` (max/min).

:func:`loss_figure` and :func:`val_acc_figure` return PNG bytes; :func:`loss_plot` and
:func:`val_acc_plot` return the figures themselves, for a notebook. Each run comes as a
:class:`~trainwell.report.charts.Curve`, each grid point in its colour from
:func:`~trainwell.report.charts.label_colors`.

>>> png = loss_figure({"a": [Curve([0, 1, 2], [2.3, 1.0, 0.5])]}, colors={"a": "#1f77b4"})
>>> png[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from trainwell.report.charts import (
    LOG_RANGE,
    Curve,
    add_legend,
    label_dashes,
    literal_label,
    new_chart,
    thin,
    whole_numbers_on_x,
)
from trainwell.report.pictures import png_bytes

__all__ = ["smooth", "smoothing_window", "loss_figure", "loss_plot", "val_acc_figure",
           "val_acc_plot", "SMOOTH_FRACTION", "CLIP_FACTOR"]

SMOOTH_FRACTION = 0.02
CLIP_FACTOR = 4.0


def smoothing_window(steps: int) -> int:
    """Moving-average window for a run of ``steps`` optimizer steps: 2%, at least 1."""
    return max(1, round(SMOOTH_FRACTION * steps))


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average that skips NaN: ``s[i] = mean(finite v[i-window+1 .. i])``.

    >>> smooth(np.array([1.0, 3.0, np.nan, 5.0]), 2).tolist()
    [1.0, 2.0, 3.0, 5.0]
    """
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    lo = np.maximum(np.arange(len(v)) + 1 - window, 0)
    hi = np.arange(len(v)) + 1
    n = count[hi] - count[lo]
    out = np.full(len(v), np.nan)
    np.divide(total[hi] - total[lo], n, out=out, where=n > 0)
    return out


def _dense(curve: Curve, length: int) -> np.ndarray:
    row = np.full(length, np.nan)
    for x, y in zip(curve.x, curve.y, strict=True):
        if y is not None and (curve.diverged_at is None or x <= curve.diverged_at):
            row[int(x)] = y
    return row


def _smoothed(curve: Curve, length: int, window: int) -> np.ndarray:
    """The run's smoothed series, ending at its last step (its divergence step if it diverged)."""
    row = smooth(_dense(curve, length), window)
    end = curve.diverged_at if curve.diverged_at is not None else max(curve.x, default=-1)
    row[int(end) + 1:] = np.nan
    return row


def _aggregate(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions where any seed has a value, and the mean, min and max over those seeds."""
    ok = np.isfinite(rows)
    count = ok.sum(axis=0)
    keep = count > 0
    mean = np.where(ok, rows, 0.0).sum(axis=0)[keep] / count[keep]
    lo = np.where(ok, rows, np.inf).min(axis=0)[keep]
    hi = np.where(ok, rows, -np.inf).max(axis=0)[keep]
    return np.nonzero(keep)[0], mean, lo, hi


def loss_figure(curves: Mapping[str, Sequence[Curve]], *, colors: Mapping[str, str]) -> bytes | None:
    """Training loss against optimizer step, one line per label, as PNG; ``None`` without data."""
    fig = loss_plot(curves, colors=colors)
    return None if fig is None else png_bytes(fig)


def loss_plot(curves: Mapping[str, Sequence[Curve]], *, colors: Mapping[str, str]) -> Figure | None:
    """The figure of :func:`loss_figure`; ``None`` without data."""
    curves = {k: v for k, v in curves.items() if v}
    length = 1 + max((max(c.x) for cs in curves.values() for c in cs if len(c.x)), default=0)
    window = smoothing_window(length)
    lines = []
    for label, runs in curves.items():
        rows = np.array([_smoothed(c, length, window) for c in runs])
        x, mean, lo, hi = _aggregate(rows)
        marks = []
        for c, row in zip(runs, rows, strict=True):
            finite = np.nonzero(np.isfinite(row))[0]
            if c.diverged_at is not None and len(finite):
                marks.append((min(c.diverged_at, length - 1), row[finite[-1]]))
        if len(x):
            lines.append((label, x, mean, lo, hi, marks, len(runs)))
    if not lines:
        return None
    # The scale is set by the runs that did not diverge: a diverged run's loss in the
    # thousands would squeeze every other curve into the bottom of a log axis. Its curve is
    # cut at the top edge, where its x marks the step it diverged at.
    kept = [ln for ln in lines if not ln[5]] or lines
    top = min(max(np.nanmax(hi) for *_, hi, _, _ in kept),
              CLIP_FACTOR * max(mean[0] for _, _, mean, *_ in kept))
    bottom = min(np.nanmin(lo) for _, _, _, lo, *_ in kept)
    fig, ax = new_chart()
    dashes = label_dashes([ln[0] for ln in lines])
    for label, x, mean, lo, hi, marks, seeds in lines:
        color = colors[label]
        tx, tmean, tlo, thi = thin(x, mean, lo, hi)
        ax.plot(tx, tmean, color=color, linewidth=1.6, label=literal_label(label),
                linestyle=dashes[label])
        if seeds > 1:
            ax.fill_between(tx, tlo, thi, color=color, alpha=0.18, linewidth=0)
        for step, value in marks:
            ax.plot([step], [min(value, top)], marker="x", markersize=9, markeredgewidth=2.2,
                    color=color, linestyle="none", clip_on=False)
    log = bottom > 0 and top / bottom > LOG_RANGE
    if log:
        ax.set_yscale("log")
    pad = 0.05 * (top - bottom) or 0.05 * max(abs(top), 1.0)  # a flat curve still gets a range
    ax.set_ylim((bottom / 1.25, top * 1.25) if log else (bottom - pad, top + pad))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"training loss (moving average, {window} steps)")
    off = any(np.nanmax(ln[4]) > top * (1.25 if log else 1.0) for ln in lines if ln[5])
    extra = [Line2D([], [], marker="x", color="0.3", linestyle="none", markersize=8,
                    markeredgewidth=2, label="diverged" + (" (cut at the top)" if off else ""))
             ] if any(ln[5] for ln in lines) else []
    add_legend(ax, extra)
    return fig


def val_acc_figure(curves: Mapping[str, Sequence[Curve]], *, colors: Mapping[str, str],
                   chance: float | None = None) -> bytes | None:
    """Validation accuracy (percent) against epoch, mean over seeds, as PNG; ``None`` without
    data."""
    fig = val_acc_plot(curves, colors=colors, chance=chance)
    return None if fig is None else png_bytes(fig)


def val_acc_plot(curves: Mapping[str, Sequence[Curve]], *, colors: Mapping[str, str],
                 chance: float | None = None) -> Figure | None:
    """The figure of :func:`val_acc_figure`; ``None`` without data."""
    curves = {k: v for k, v in curves.items() if any(y is not None for c in v for y in c.y)}
    if not curves:
        return None
    length = 1 + max(max(c.x) for cs in curves.values() for c in cs if len(c.x))
    fig, ax = new_chart()
    dashes = label_dashes(list(curves))
    for label, runs in curves.items():
        x, mean, _, _ = _aggregate(np.array([_dense(c, length) for c in runs]))
        ax.plot(x, 100 * mean, color=colors[label], linewidth=1.6, label=literal_label(label),
                linestyle=dashes[label], marker="o" if len(x) <= 30 else None, markersize=3.5)
    extra = []
    if chance is not None:
        ax.axhline(100 * chance, color="0.45", linestyle="--", linewidth=1)
        extra.append(Line2D([], [], color="0.45", linestyle="--", label="chance"))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    whole_numbers_on_x(ax)
    add_legend(ax, extra)
    return fig
