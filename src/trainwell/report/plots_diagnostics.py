"""The report's gradient-flow pictures: per-layer weight-gradient norm and activation std
against optimizer step, one small figure per grid point.

Each figure has two panels sharing the step axis: ``‖∂L/∂W‖`` of every layer (top) and the
std of every layer's activations (bottom), both on a log scale, one line per layer coloured
by depth along a sequential colormap (first layer dark, last layer light). The figures of one
report share their axis limits (:func:`flow_limits`), so grid points compare at a glance: a
vanishing gradient is a fan of lines spreading downwards from the last layer to the first.
An exact zero cannot sit on a log axis: zeros are drawn on a separate "0" line at the bottom.

Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", 2010 (per-layer activation and gradient statistics during training).

>>> run = FlowRun("relu", 0, [LayerFlow("hidden.0.linear", [0, 10], [1.0, 0.5], [0.8, 0.7]),
...                          LayerFlow("head", [0, 10], [2.0, 1.0], [1.5, 1.2])])
>>> gradient_flow_figure(run, limits=flow_limits([run]))[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from trainwell.loop.metrics import ACT_STD, GRAD_NORM, layer_metric
from trainwell.report.charts import literal_label
from trainwell.report.pictures import DPI, ShownFigure, png_bytes

__all__ = ["LayerFlow", "FlowRun", "FlowLimits", "flow_run", "layer_order", "depth_colors",
           "flow_limits", "gradient_flow_figure", "gradient_flow_plot", "DEPTH_CMAP", "LAST_LAYER_NAMES"]

DEPTH_CMAP = ("viridis", 0.0, 0.88)
"""Colormap of layer depth and the part of it used: from dark purple (first layer) to
yellow-green (last layer); viridis' pale yellow end would vanish on white."""

LAST_LAYER_NAMES = frozenset({"head", "classifier", "output", "out", "logits"})
"""Top-level module names that hold a model's output layer, ordered after every other layer."""

_ZERO_GAP = 4.0


@dataclass
class LayerFlow:
    """One layer's recorded series: steps, ``‖∂L/∂W‖`` and activation std (``None`` where not
    finite or not recorded)."""

    name: str
    steps: Sequence[int]
    grad_norm: Sequence[float | None]
    act_std: Sequence[float | None]


@dataclass
class FlowRun:
    """The gradient flow of one run: its grid point's ``label``, ``seed``, layers by depth."""

    label: str
    seed: int
    layers: list[LayerFlow]

    @property
    def every(self) -> int | None:
        """Steps between two records (``None`` with fewer than two)."""
        steps = sorted({s for layer in self.layers for s in layer.steps})
        return min((b - a for a, b in itertools.pairwise(steps)), default=None)


@dataclass(frozen=True)
class FlowLimits:
    """Axis limits shared by every figure: last step, and per panel the smallest positive and
    the largest value and whether any value is exactly zero."""

    steps: int
    grad: tuple[float, float, bool]
    act: tuple[float, float, bool]


def flow_run(label: str, seed: int,
             metrics: Mapping[str, tuple[Sequence[int], Sequence[float | None]]]) -> FlowRun | None:
    """A run's gradient flow from its stored metrics (name → (steps, values)): the series
    named ``grad_norm/<layer>`` and ``act_std/<layer>``; ``None`` when it has none.

    >>> flow_run("a", 0, {"loss": ([0], [2.3]), "grad_norm/head": ([0], [0.5])}).layers[0].name
    'head'
    """
    prefix = layer_metric(GRAD_NORM, "")
    names = [n.removeprefix(prefix) for n in metrics if n.startswith(prefix)]
    layers = []
    for name in layer_order(names):
        steps, grads = metrics[layer_metric(GRAD_NORM, name)]
        acts = dict(zip(*metrics.get(layer_metric(ACT_STD, name), ([], [])), strict=True))
        layers.append(LayerFlow(name, steps, grads, [acts.get(s) for s in steps]))
    return FlowRun(label, seed, layers) if layers else None


def layer_order(names: Sequence[str]) -> list[str]:
    """Layer names in forward order, as far as names tell: numbered parts compare as numbers
    (``hidden.2`` before ``hidden.10``) and an output layer (:data:`LAST_LAYER_NAMES`) comes last.

    >>> layer_order(["head", "hidden.10.linear", "hidden.2.linear"])
    ['hidden.2.linear', 'hidden.10.linear', 'head']
    """
    def key(name: str) -> tuple:
        parts = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]
        return (name.split(".")[0] in LAST_LAYER_NAMES, parts)

    return sorted(names, key=key)


def depth_colors(n: int) -> list[str]:
    """``n`` colours from first layer to last along :data:`DEPTH_CMAP`.

    >>> depth_colors(2)
    ['#440154', '#b0dd2f']
    """
    import matplotlib

    name, lo, hi = DEPTH_CMAP
    cmap = matplotlib.colormaps[name]
    return [to_hex(cmap(lo + (hi - lo) * (i / (n - 1) if n > 1 else 0.0))) for i in range(n)]


def flow_limits(runs: Sequence[FlowRun]) -> FlowLimits:
    """Limits that fit every run's series, so all figures share their scales."""
    def span(field: str) -> tuple[float, float, bool]:
        values = np.array([v for r in runs for layer in r.layers for v in getattr(layer, field)
                           if v is not None], dtype=float)
        positive = values[values > 0]
        if not len(positive):
            return 0.1, 1.0, bool(len(values))
        return float(positive.min()), float(positive.max()), bool((values <= 0).any())

    last = max((max(layer.steps) for r in runs for layer in r.layers if len(layer.steps)),
               default=1)
    return FlowLimits(max(1, last), span("grad_norm"), span("act_std"))


def _panel(ax, layers: Sequence[LayerFlow], field: str, colors: Sequence[str],
           limits: tuple[float, float, bool], ylabel: str) -> None:
    lo, hi, zeros = limits
    floor = lo / _ZERO_GAP ** 2 if zeros else lo
    ax.set_yscale("log")
    for layer, color in zip(layers, colors, strict=True):
        y = np.array([np.nan if v is None else v for v in getattr(layer, field)], dtype=float)
        y = np.where(y <= 0, floor, y)
        few = np.isfinite(y).sum() <= 12
        ax.plot(np.asarray(layer.steps), y, color=color, linewidth=1.2,
                marker="o" if few else None, markersize=2.5)
    ax.set_ylim(floor / 1.6, hi * 1.6)
    if zeros:
        gap = floor * _ZERO_GAP
        ax.axhline(gap, color="0.6", linewidth=0.8, linestyle=(0, (2, 2)))
        ticks = [t for t in LogLocator(numticks=5).tick_values(gap, hi * 1.6)
                 if gap < t <= hi * 1.6]
        ax.yaxis.set_major_locator(FixedLocator([floor, *ticks]))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "0" if v == floor else _tick(v)))
        ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def gradient_flow_plot(run: FlowRun, *, limits: FlowLimits) -> ShownFigure:
    """The two panels of one run, ``‖∂L/∂W‖`` and activation std per layer, as a Figure that a
    notebook shows."""
    fig = ShownFigure(figsize=(3.5, 3.9), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    colors = depth_colors(len(run.layers))
    _panel(top, run.layers, "grad_norm", colors, limits.grad, "‖∂L/∂W‖")
    _panel(bottom, run.layers, "act_std", colors, limits.act, "activation std")
    bottom.set_xlim(0, limits.steps)
    bottom.set_xlabel("optimizer step", fontsize=8)
    if run.layers:
        ends = [(run.layers[0], colors[0], "first")]
        if len(run.layers) > 1:
            ends.append((run.layers[-1], colors[-1], "last"))
        handles = [Line2D([], [], color=c, linewidth=2, label=literal_label(f"{layer.name} ({where})"))
                   for layer, c, where in ends]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False,
                   fontsize=7, handlelength=1.4, columnspacing=1.0)
    return fig


def gradient_flow_figure(run: FlowRun, *, limits: FlowLimits) -> bytes:
    """:func:`gradient_flow_plot` as PNG bytes."""
    return png_bytes(gradient_flow_plot(run, limits=limits))


def _tick(v: float) -> str:
    exponent = np.log10(v)
    return f"$10^{{{round(exponent)}}}$" if abs(exponent - round(exponent)) < 1e-9 else f"{v:.2g}"
