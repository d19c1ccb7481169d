"""The doctor's page: what was found (the live verdicts), what was raced (each fix with its
reason and validation and test accuracy), and the before and after curves."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from trainwell._io import atomic_write_text

if TYPE_CHECKING:
    from trainwell.doctor.doctor import DoctorResult

__all__ = ["write_doctor_page", "curves_png"]

Curves = Mapping[str, Mapping[str, list[tuple[int, float]]]]


def curves_png(result: DoctorResult, curves: Curves) -> bytes:
    """Training loss and validation accuracy of every raced recipe; the original and the
    winner drawn bold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6))  # a fixed layout: constrained layout costs more than the plot
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.14, top=0.9, wspace=0.15)
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for c in result.candidates:
        bold = c.label in ("original", result.chosen)
        style = {"linewidth": 2.2 if bold else 0.9, "alpha": 1.0 if bold else 0.6,
                 "label": c.label + (" (chosen)" if c.label == result.chosen else "")}
        loss = curves.get(c.run_id, {}).get("loss", [])
        if loss:
            window = max(1, len(loss) // 50)
            xs = [s for s, _ in loss][window - 1:]
            ys = [sum(v for _, v in loss[i - window + 1:i + 1]) / window
                  for i in range(window - 1, len(loss))]
            loss_ax.plot(xs, ys, **style)
        acc = curves.get(c.run_id, {}).get("val_acc", [])
        if acc:
            acc_ax.plot([s for s, _ in acc], [v for _, v in acc], marker=".", **style)
    loss_ax.set(title="training loss (smoothed)", xlabel="step", yscale="log")
    acc_ax.set(title="validation accuracy", xlabel="step")
    if acc_ax.get_legend_handles_labels()[0]:
        acc_ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def write_doctor_page(result: DoctorResult, curves: Curves, path: Path) -> Path:
    """Write the page (atomically) and return its path."""
    esc = html.escape
    verdicts = "".join(f"<tr><td>{v.step}</td><td>{esc(v.kind)}</td><td>{esc(v.layer or '—')}</td>"
                       f"<td>{esc(v.message)}</td><td>{esc(v.fix)}</td></tr>" for v in result.verdicts)
    verdicts = verdicts or "<tr><td colspan=5>no live verdict</td></tr>"
    races = "".join(
        f"<tr{' style=font-weight:bold' if c.label == result.chosen else ''}><td>{esc(c.label)}</td>"
        f"<td>{esc(c.reason)}</td><td>{esc(c.status)}</td><td>{_pct(c.val_acc)}</td>"
        f"<td>{_pct(c.test_acc)}</td><td>{'' if c.seconds is None else f'{c.seconds:.1f} s'}</td></tr>"
        for c in result.candidates)
    screened = "".join(
        f"<tr><td>{esc(c.label)}</td><td>{esc(c.reason)}</td><td>{esc(c.status)}</td>"
        f"<td>{_pct(c.val_acc)}</td></tr>" for c in result.screened)
    if screened:
        screened = ("<h2>Screening (a quarter of the budget each, round by round; the best races "
                    "on)</h2><table><tr>"
                    f"<th>fix</th><th>why</th><th>status</th><th>val acc</th></tr>{screened}</table>")
    png = base64.b64encode(curves_png(result, curves)).decode()
    lr = f"<p>range test: suggested lr {result.lr:.3g}</p>" if result.lr is not None else ""
    body = (f"<h1>doctor: {esc(result.recipe.name or result.recipe.model.name)}</h1>"
            f"<p>{esc(str(result))}</p><p>symptoms: {esc(', '.join(result.symptoms) or 'none')}</p>"
            f"{lr}<h2>Verdicts over time (the original recipe)</h2><table><tr><th>step</th>"
            f"<th>symptom</th><th>layer</th><th>seen</th><th>fix</th></tr>{verdicts}</table>"
            f"{screened}"
            "<h2>The race (equal budgets; chosen on validation accuracy)</h2><table><tr>"
            "<th>recipe</th><th>why</th><th>status</th><th>val acc</th><th>test acc</th>"
            f"<th>time</th></tr>{races}</table><h2>Before and after</h2>"
            f'<img alt="curves" src="data:image/png;base64,{png}">'
            f"<h2>The repaired recipe</h2><pre>{esc(result.fixed.to_toml())}</pre>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>trainwell doctor</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
            f"img{{max-width:100%}}</style></head><body>{body}</body></html>")
    return atomic_write_text(path, page)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"
