"""The comparison report's learning-rate figure: the rate against optimizer step, one line per
grid point, drawn as steps (a rate holds until the next one is set).

The report draws it only when a schedule changed a rate (:func:`lr_varies`). The axis is
logarithmic when the rates span more than :data:`~trainwell.report.charts.LOG_RANGE` and never
reach 0; otherwise it starts at 0.

>>> decay = Curve([0, 10, 20], [0.1, 0.01, 0.001])
>>> lr_varies({"a": decay}), lr_figure({"a": decay}, colors={"a": "#1f77b4"})[:4] == b"\\x89PNG"
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from trainwell.report.charts import LOG_RANGE, Curve, finished_png, literal_label, new_chart, thin

__all__ = ["lr_varies", "lr_figure"]


def lr_varies(curves: Mapping[str, Curve], *, rtol: float = 1e-9) -> bool:
    """Whether any curve's finite values differ: ``max - min > rtol * max``.

    >>> lr_varies({"a": Curve([0, 1], [0.1, 0.1]), "b": Curve([0, 1], [0.1, 0.05])})
    True
    """
    for c in curves.values():
        ys = [y for y in c.y if y is not None and np.isfinite(y)]
        if ys and max(ys) - min(ys) > rtol * abs(max(ys)):
            return True
    return False


def lr_figure(curves: Mapping[str, Curve], *, colors: Mapping[str, str]) -> bytes | None:
    """Learning rate against optimizer step, one line per label; ``None`` without data.

    The axis is logarithmic when the rates span more than ``LOG_RANGE`` and never reach 0.
    """
    curves = {k: c for k, c in curves.items() if any(y is not None for y in c.y)}
    if not curves:
        return None
    fig, ax = new_chart()
    fig.set_size_inches(10, 3.4)
    values = [y for c in curves.values() for y in c.y if y is not None]
    for label, c in curves.items():
        x = np.asarray(c.x, dtype=float)
        y = np.array([np.nan if v is None else v for v in c.y], dtype=float)
        tx, ty = thin(x, y)
        ax.plot(tx, ty, color=colors[label], linewidth=1.6, label=literal_label(label),
                drawstyle="steps-post")
    if min(values) > 0 and max(values) / min(values) > LOG_RANGE:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    return finished_png(fig, ax, [])
