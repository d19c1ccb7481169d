"""The diagnosis page: per-layer activation histograms side by side, gradient norm by layer,
the per-layer table and the verdicts, in one self-contained HTML file."""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path

import jinja2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from trainwell._io import atomic_write_text
from trainwell.diagnose import Diagnosis
from trainwell.report.plots import data_uri

__all__ = ["histograms_png", "gradients_png", "render_diagnosis", "write_diagnosis_page"]

_PER_ROW = 6


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def histograms_png(diagnosis: Diagnosis) -> bytes:
    """One histogram of activations per layer, in forward order, side by side (the classic
    per-layer distribution figure of the initialization lecture)."""
    layers = diagnosis.layers
    rows = max(1, math.ceil(len(layers) / _PER_ROW))
    cols = min(_PER_ROW, max(1, len(layers)))
    fig = Figure(figsize=(2.4 * cols, 2.3 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, s in enumerate(layers):
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
    return _png(fig)


def gradients_png(diagnosis: Diagnosis) -> bytes:
    """Norm of the gradient reaching each layer's output and of its weight gradient, by layer."""
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
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
    return _png(fig)


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("trainwell.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("diagnosis.html.j2")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}"


def render_diagnosis(diagnosis: Diagnosis, *, title: str) -> str:
    """The page as a string; every piece of user text is escaped by the template."""
    rows = [{"index": s.index, "name": s.name, "activation": s.activation, "units": s.units,
             "mean": _fmt(s.act_mean), "std": _fmt(s.act_std),
             "dead": "-" if s.dead_fraction is None else f"{100 * s.dead_fraction:.0f}%",
             "saturated": "-" if s.saturated_fraction is None else f"{100 * s.saturated_fraction:.0f}%",
             "grad": _fmt(s.grad_norm), "wgrad": _fmt(s.weight_grad_norm),
             "wnorm": _fmt(s.weight_norm), "update_ratio": _fmt(s.update_ratio),
             "symmetric": s.symmetric_group} for s in diagnosis.layers]
    return _template().render(
        title=title, loss=_fmt(diagnosis.loss), batch_size=diagnosis.batch_size,
        verdicts=[{"kind": v.kind, "message": v.message, "fix": v.fix} for v in diagnosis.verdicts],
        rows=rows, hist_png=data_uri(histograms_png(diagnosis)),
        grad_png=data_uri(gradients_png(diagnosis)))


def write_diagnosis_page(diagnosis: Diagnosis, path: str | Path, *, title: str) -> Path:
    """Write the page to ``path`` atomically and return it."""
    return atomic_write_text(path, render_diagnosis(diagnosis, title=title))
