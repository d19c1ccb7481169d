"""The watch page: a monitor's verdicts over time, its notes, and the curves it measured, in
one self-contained HTML file (figures inline as PNG)."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainwell._io import atomic_write_text

__all__ = ["write_watch_page", "render_watch", "watch_figure", "verdict_rows"]


def verdict_rows(watched: Mapping[str, Any]) -> list[tuple[int, str, str, str, str]]:
    """``(step, symptom, layer, message, fix)`` for each verdict of a monitor's ``to_dict()``.

    >>> verdict_rows({"verdicts": [{"step": 5, "kind": "nan", "layer": "", "numbers": {},
    ...                             "message": "the loss is nan", "fix": "lower the lr"}]})
    [(5, 'nan', '—', 'the loss is nan', 'lower the lr')]
    """
    return [(v["step"], v["kind"], v["layer"] or "—", v["message"], v["fix"])
            for v in watched.get("verdicts", [])]


def watch_figure(watched: Mapping[str, Any]) -> bytes | None:
    """PNG: the mean loss per window, and per layer the relative gradient and update ratio
    (log scale), with each verdict marked at its step."""
    windows: Sequence[Mapping[str, Any]] = watched.get("windows", [])
    if not windows:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    steps = [w["step"] for w in windows]
    axes[0].plot(steps, [_nan(w["loss"]) for w in windows], marker=".", color="#4c72b0")
    axes[0].set_title("loss (window mean)", fontsize=9)
    names = [layer["name"] for layer in windows[-1]["layers"]]
    for ax, key, title in ((axes[1], "grad", "‖∂L/∂W‖ / ‖W‖"), (axes[2], "update", "‖ΔW‖ / ‖W‖")):
        for i, name in enumerate(names):
            values = [_layer_value(w, i, key) for w in windows]
            if any(math.isfinite(v) and v > 0 for v in values):
                ax.plot(steps, values, label=name, linewidth=1)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
    if len(names) <= 12:
        axes[1].legend(fontsize=6)
    for v in watched.get("verdicts", []):
        for ax in axes:
            ax.axvline(v["step"], color="#c44e52", linewidth=0.8, linestyle="--")
        axes[0].annotate(v["kind"], (v["step"], 1.0), xycoords=("data", "axes fraction"),
                         fontsize=7, color="#c44e52", rotation=90, va="top")
    for ax in axes:
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def render_watch(watched: Mapping[str, Any], *, title: str = "watch") -> str:
    """The page's HTML."""
    png = watch_figure(watched)
    rows = "".join(f"<tr><td>{s}</td><td>{html.escape(k)}</td><td>{html.escape(layer)}</td>"
                   f"<td>{html.escape(m)}</td><td>{html.escape(f)}</td></tr>"
                   for s, k, layer, m, f in verdict_rows(watched))
    rows = rows or "<tr><td colspan=5>no symptom held: the network trains</td></tr>"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in watched.get("notes", []))
    img = (f'<img alt="curves" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
           if png else "")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
            "img{max-width:100%}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>measured every {watched.get('every', '?')} steps</p>"
            "<h2>Verdicts over time</h2><table><tr><th>step</th><th>symptom</th><th>layer</th>"
            f"<th>seen</th><th>fix</th></tr>{rows}</table>"
            + (f"<h2>Not judged</h2><ul>{notes}</ul>" if notes else "")
            + f"<h2>Curves</h2>{img}</body></html>")


def write_watch_page(watched: Mapping[str, Any], path: Path, *, title: str = "watch") -> Path:
    """Write :func:`render_watch` to ``path`` (atomically) and return it."""
    atomic_write_text(path, render_watch(watched, title=title))
    return path


def _layer_value(window: Mapping[str, Any], i: int, key: str) -> float:
    layers = window["layers"]
    if i >= len(layers):
        return math.nan
    layer = layers[i]
    if key == "grad":
        g, w = layer.get("grad"), layer.get("weight")
        return g / w if g is not None and w else math.nan
    return _nan(layer.get(key))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
