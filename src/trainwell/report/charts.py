"""What the report's line charts share: a run's series (:class:`Curve`), one colour and one line
style per grid point, the chart's look (a wide figure, a light grid, no top or right spine, the
legend to the right of the axes), labels shown literally, and long series thinned to at most
``_MAX_POINTS`` points before they are drawn.

A value axis is logarithmic when the values shown span more than ``LOG_RANGE`` (max/min).

>>> fig, ax = new_chart()
>>> x, y = thin(np.arange(4000), np.ones(4000))
>>> _ = ax.plot(x, y, label=literal_label("_best"))
>>> len(x), finished_png(fig, ax, [])[:4] == b"\\x89PNG"
(1334, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from trainwell.report.pictures import DPI, ShownFigure, png_bytes

__all__ = ["Curve", "label_colors", "label_dashes", "new_chart", "add_legend", "finished_png",
           "thin", "literal_label", "whole_numbers_on_x", "LOG_RANGE"]

LOG_RANGE = 30.0
_MAX_POINTS = 1500


@dataclass
class Curve:
    """One run's series: values at integer positions ``x`` (steps or epochs; ``None`` where
    not finite), and the step where it diverged, if it did."""

    x: Sequence[int]
    y: Sequence[float | None]
    diverged_at: int | None = None


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """A fixed colour per label, in order: tab10, tab20 beyond ten, an even hue circle beyond."""
    import matplotlib

    n = len(labels)
    pos: Sequence[float]
    if n <= 10:
        cmap, pos = matplotlib.colormaps["tab10"], range(n)
    elif n <= 20:
        cmap, pos = matplotlib.colormaps["tab20"], range(n)
    else:
        cmap, pos = matplotlib.colormaps["hsv"], [i / n for i in range(n)]
    return {label: to_hex(cmap(p)) for label, p in zip(labels, pos, strict=True)}


_DASHES = ("-", "--", ":", "-.")


def label_dashes(labels: Sequence[str]) -> dict[str, str]:
    """A line style per label: on a two-axis grid (labels ``"a · b"``) the second axis's value
    picks the style, so that curves of one row (one colour family) stay apart; solid lines
    otherwise, or beyond four values.

    >>> label_dashes(["zeros · sigmoid", "zeros · relu", "he · sigmoid", "he · relu"])
    {'zeros · sigmoid': '-', 'zeros · relu': '--', 'he · sigmoid': '-', 'he · relu': '--'}
    """
    parts = [label.split(" · ") for label in labels]
    if not parts or any(len(p) != 2 for p in parts):
        return {label: "-" for label in labels}
    seconds = list(dict.fromkeys(p[1] for p in parts))
    if not 2 <= len(seconds) <= len(_DASHES):
        return {label: "-" for label in labels}
    return {label: _DASHES[seconds.index(p[1])] for label, p in zip(labels, parts, strict=True)}


def thin(*arrays: np.ndarray) -> list[np.ndarray]:
    """Every ``k``-th element of each array, ``k`` the smallest stride that leaves at most
    ``_MAX_POINTS`` of the first."""
    stride = max(1, -(-len(arrays[0]) // _MAX_POINTS))
    return [a[::stride] for a in arrays]


def literal_label(label: str) -> str:
    """A label as matplotlib shows it literally: no mathtext, no hidden ``_`` legend entries."""
    label = label.replace("$", r"\$")
    return " " + label if label.startswith("_") else label


def whole_numbers_on_x(ax: Axes) -> None:
    """Tick the x axis at whole numbers only (epochs, ensemble members)."""
    locator = ax.xaxis.get_major_locator()  # a new Axes' AutoLocator, a MaxNLocator
    if isinstance(locator, MaxNLocator):
        locator.set_params(integer=True)


def new_chart() -> tuple[Figure, Axes]:
    """An empty chart in the report's look, 10 × 4.4 inches, on the Agg canvas."""
    fig = ShownFigure(figsize=(10, 4.4), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def add_legend(ax: Axes, extra: list[Line2D]) -> None:
    """The legend of ``ax``'s labelled lines, then the ``extra`` entries, right of the axes."""
    handles, names = ax.get_legend_handles_labels()
    handles, names = [*handles, *extra], names + [str(h.get_label()) for h in extra]
    ax.legend(handles, names, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize="small")


def finished_png(fig: Figure, ax: Axes, extra: list[Line2D]) -> bytes:
    """The chart with its legend (:func:`add_legend`), as PNG bytes."""
    add_legend(ax, extra)
    return png_bytes(fig)
