"""The pictures of one diagnosis: per-layer activation histograms side by side, gradient norm
by layer; the page that holds them with the per-layer table and the verdicts (one
self-contained HTML file), and the same as a notebook cell's HTML.

>>> import torch
>>> from torch import nn
>>> from trainwell.diagnose import diagnose
>>> net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
>>> d = diagnose(net, torch.randn(64, 8), torch.randint(0, 3, (64,)))
>>> len(diagnosis_plot(d).axes)        # one histogram per layer, and the gradient norms
3
>>> "‖∂L/∂W‖" in diagnosis_html(d)
True
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from trainwell._io import atomic_write_text
from trainwell.report.pictures import ShownFigure, data_uri, png_bytes

if TYPE_CHECKING:
    from trainwell.diagnose import Diagnosis

__all__ = ["histograms_png", "gradients_png", "diagnosis_plot", "diagnosis_html",
           "render_diagnosis", "write_diagnosis_page"]

_PER_ROW = 6


def _grid(n: int) -> tuple[int, int]:
    return max(1, math.ceil(n / _PER_ROW)), min(_PER_ROW, max(1, n))


def _draw_histograms(fig: Figure | SubFigure, diagnosis: Diagnosis) -> None:
    rows, cols = _grid(len(diagnosis.layers))
    for i, s in enumerate(diagnosis.layers):
        ax = fig.add_subplot(rows, cols, i + 1)
        edges = np.asarray(s.hist_edges, dtype=float)
        counts = np.asarray(s.hist_counts, dtype=float)
        if len(edges) == len(counts) + 1 and counts.sum() > 0:
            ax.bar(edges[:-1], counts / counts.sum(), width=np.diff(edges), align="edge",
                   color="#4c72b0")
        ax.set_title(f"{s.index}: {s.activation}\nmean {s.act_mean:.2g} std {s.act_std:.2g}",
                     fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])


def _draw_gradients(fig: Figure | SubFigure, diagnosis: Diagnosis) -> None:
    ax = fig.add_subplot()
    idx = [s.index for s in diagnosis.layers]
    for attr, label, marker in (("grad_norm", "‖∂L/∂output‖", "o"),
                                ("weight_grad_norm", "‖∂L/∂W‖", "s")):
        values = [getattr(s, attr) for s in diagnosis.layers]
        pts = [(i, v) for i, v in zip(idx, values, strict=True)
               if v is not None and v > 0 and math.isfinite(v)]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer (forward order)")
    ax.set_ylabel("gradient norm")
    ax.set_xticks(idx)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize="small")


def histograms_png(diagnosis: Diagnosis) -> bytes:
    """One histogram of activations per layer, in forward order, side by side (the classic
    per-layer distribution figure of the initialization lecture)."""
    rows, cols = _grid(len(diagnosis.layers))
    fig = Figure(figsize=(2.4 * cols, 2.3 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    _draw_histograms(fig, diagnosis)
    return png_bytes(fig, dpi=100)


def gradients_png(diagnosis: Diagnosis) -> bytes:
    """Norm of the gradient reaching each layer's output and of its weight gradient, by layer."""
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    _draw_gradients(fig, diagnosis)
    return png_bytes(fig, dpi=100)


def diagnosis_plot(diagnosis: Diagnosis) -> ShownFigure:
    """The page's two pictures in one Figure that a notebook shows: the activation histograms
    of every layer (top) and the gradient norms by layer (bottom)."""
    rows, cols = _grid(len(diagnosis.layers))
    fig = ShownFigure(figsize=(max(7.0, 2.4 * cols), 2.3 * rows + 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = np.asarray(fig.subfigures(2, 1, height_ratios=[2.3 * rows, 3.2])).ravel()
    _draw_histograms(top, diagnosis)
    _draw_gradients(bottom, diagnosis)
    return fig


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainwell.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("diagnosis.html.j2")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}"


def _rows(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    return [{"index": s.index, "name": s.name, "activation": s.activation, "units": s.units,
             "mean": _fmt(s.act_mean), "std": _fmt(s.act_std),
             "dead": "-" if s.dead_fraction is None else f"{100 * s.dead_fraction:.0f}%",
             "saturated": "-" if s.saturated_fraction is None else f"{100 * s.saturated_fraction:.0f}%",
             "grad": _fmt(s.grad_norm), "wgrad": _fmt(s.weight_grad_norm),
             "wnorm": _fmt(s.weight_norm), "update_ratio": _fmt(s.update_ratio),
             "symmetric": s.symmetric_group} for s in diagnosis.layers]


def render_diagnosis(diagnosis: Diagnosis, *, title: str) -> str:
    """The page as a string; every piece of user text is escaped by the template."""
    return _template().render(
        title=title, loss=_fmt(diagnosis.loss), batch_size=diagnosis.batch_size,
        verdicts=[{"kind": v.kind, "message": v.message, "fix": v.fix} for v in diagnosis.verdicts],
        rows=_rows(diagnosis), hist_png=data_uri(histograms_png(diagnosis)),
        grad_png=data_uri(gradients_png(diagnosis)))


_CELL = """\
<div class="trainwell-diagnosis">
<p><strong>diagnosis</strong> on one batch of {{ batch_size }} samples · loss {{ loss }}</p>
<ul>{% for v in verdicts %}
<li><strong>{{ v.kind }}</strong>: {{ v.message }}{% if v.fix %}; {{ v.fix }}{% endif %}</li>
{% endfor %}</ul>
<table>
<thead><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in rows %}<tr>{% for k in keys %}<td>{{ r[k] }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<img src="{{ png }}" alt="activation histogram of every layer, and gradient norm by layer">
</div>
"""

_COLUMNS = {"index": "#", "name": "layer", "activation": "activation", "units": "units",
            "mean": "mean", "std": "std", "dead": "dead", "saturated": "saturated",
            "grad": "‖∂L/∂out‖", "wgrad": "‖∂L/∂W‖", "wnorm": "‖W‖", "update_ratio": "update/W",
            "symmetric": "identical units"}


@functools.cache
def _cell_template() -> jinja2.Template:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_CELL)


def diagnosis_html(diagnosis: Diagnosis) -> str:
    """The verdicts, the per-layer table and the pictures as an HTML fragment for a notebook
    cell (no page styles that would leak into the notebook); every piece of text escaped."""
    return _cell_template().render(
        batch_size=diagnosis.batch_size, loss=_fmt(diagnosis.loss), columns=list(_COLUMNS.values()),
        keys=list(_COLUMNS),
        verdicts=[{"kind": v.kind, "message": v.message, "fix": v.fix} for v in diagnosis.verdicts],
        rows=_rows(diagnosis), png=data_uri(diagnosis_plot(diagnosis)._repr_png_()))


def write_diagnosis_page(diagnosis: Diagnosis, path: str | Path, *, title: str) -> Path:
    """Write the page to ``path`` atomically and return it."""
    return atomic_write_text(path, render_diagnosis(diagnosis, title=title))
