"""The doctor's page: what was found (the live verdicts), what was raced (each fix with its
reason and validation and test accuracy), and the before and after curves."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from trainwell._io import atomic_write_text
from trainwell.doctor.result import percent

if TYPE_CHECKING:
    from trainwell.doctor.result import DoctorResult

__all__ = ["write_doctor_page", "curves_svg"]

PANEL, HEIGHT, PAD = 460, 220, 30
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")

Curves = Mapping[str, Mapping[str, list[tuple[int, float]]]]


def curves_svg(result: DoctorResult, curves: Curves) -> str:
    """Training loss (smoothed, log scale) and validation accuracy of every raced recipe, as
    an inline SVG of two panels; the original and the winner drawn bold.

    >>> from types import SimpleNamespace as N
    >>> r = N(candidates=[N(label="original", run_id="a")], chosen="original")
    >>> svg = curves_svg(r, {"a": {"loss": [(1, 2.0), (2, 1.0)], "val_acc": [(2, 0.5)]}})
    >>> svg.startswith("<svg") and svg.count("<polyline") == 2
    True
    """
    panels = []
    for i, (key, title, log) in enumerate((("loss", "training loss (smoothed, log)", True),
                                           ("val_acc", "validation accuracy", False))):
        series = {c.label: _smooth(list(curves.get(c.run_id, {}).get(key, [])), key == "loss")
                  for c in result.candidates}
        points = [(x, math.log10(y) if log else y) for pts in series.values() for x, y in pts
                  if not log or y > 0]
        x0, y0 = PAD + i * (PANEL + PAD), 30
        body = [f'<text x="{x0}" y="18" font-size="13">{title}</text>',
                f'<rect x="{x0}" y="{y0}" width="{PANEL}" height="{HEIGHT}" fill="none" stroke="#999"/>']
        if points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            lo, hi = min(ys), max(ys)
            hi = hi if hi > lo else lo + 1
            right = max(xs) if max(xs) > min(xs) else min(xs) + 1

            def at(x: float, y: float, lo: float = lo, hi: float = hi, left: float = min(xs),
                   right: float = right, x0: int = x0, y0: int = y0) -> str:
                return (f"{x0 + PANEL * (x - left) / (right - left):.1f},"
                        f"{y0 + HEIGHT * (1 - (y - lo) / (hi - lo)):.1f}")

            fmt = (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{100 * v:.0f} %")
            body += [f'<text x="{x0 + 3}" y="{y0 + 12}" font-size="10">{fmt(hi)}</text>',
                     f'<text x="{x0 + 3}" y="{y0 + HEIGHT - 3}" font-size="10">{fmt(lo)}</text>',
                     f'<text x="{x0 + PANEL - 3}" y="{y0 + HEIGHT + 14}" font-size="10" '
                     f'text-anchor="end">step {right:g}</text>']
            for n, c in enumerate(result.candidates):
                pts = [(x, math.log10(y) if log else y) for x, y in series[c.label]
                       if not log or y > 0]
                bold = c.label in ("original", result.chosen)
                if pts:
                    body.append(f'<polyline fill="none" stroke="{COLORS[n % len(COLORS)]}" '
                                f'stroke-width="{2.2 if bold else 0.9}" opacity="{1 if bold else 0.6}" '
                                f'points="{" ".join(at(x, y) for x, y in pts)}"/>')
        panels += body
    legend = [f'<text x="{PAD + 10 + 230 * (n % 4)}" y="{HEIGHT + 62 + 14 * (n // 4)}" '
              f'font-size="11" fill="{COLORS[n % len(COLORS)]}">'
              f"{html.escape(c.label + (' (chosen)' if c.label == result.chosen else ''))}</text>"
              for n, c in enumerate(result.candidates)]
    height = HEIGHT + 70 + 14 * ((len(result.candidates) + 3) // 4)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * PANEL + 3 * PAD}" '
            f'height="{height}" font-family="sans-serif">{"".join(panels + legend)}</svg>')


def _smooth(points: list[tuple[int, float]], smooth: bool) -> list[tuple[int, float]]:
    window = max(1, len(points) // 50) if smooth else 1
    return [(points[i][0], sum(v for _, v in points[i - window + 1:i + 1]) / window)
            for i in range(window - 1, len(points))]


def write_doctor_page(result: DoctorResult, curves: Curves, path: Path) -> Path:
    """Write the page (atomically) and return its path."""
    esc = html.escape
    verdicts = "".join(f"<tr><td>{v.step}</td><td>{esc(v.kind)}</td><td>{esc(v.layer or '—')}</td>"
                       f"<td>{esc(v.message)}</td><td>{esc(v.fix)}</td></tr>" for v in result.verdicts)
    verdicts = verdicts or "<tr><td colspan=5>no live verdict</td></tr>"
    races = "".join(
        f"<tr{' style=font-weight:bold' if c.label == result.chosen else ''}><td>{esc(c.label)}</td>"
        f"<td>{esc(c.reason)}</td><td>{esc(c.ended)}</td><td>{percent(c.val_acc)}</td>"
        f"<td>{percent(c.test_acc)}</td><td>{'' if c.seconds is None else f'{c.seconds:.1f} s'}</td></tr>"
        for c in result.candidates)
    screened = "".join(
        f"<tr><td>{esc(c.label)}</td><td>{esc(c.reason)}</td><td>{esc(c.status)}</td>"
        f"<td>{percent(c.val_acc)}</td></tr>" for c in result.screened)
    if screened:
        screened = (f"<h2>Screening ({esc(result.screen_budget)} each, round by round; the best "
                    "races on)</h2><table><tr>"
                    f"<th>fix</th><th>why</th><th>status</th><th>val acc</th></tr>{screened}</table>")
    svg = curves_svg(result, curves)
    lr = f"<p>range test: suggested lr {result.lr:.3g}</p>" if result.lr is not None else ""
    body = (f"<h1>doctor: {esc(result.recipe.name or result.recipe.model.name)}</h1>"
            f"<p>{esc(str(result))}</p><p>symptoms: {esc(', '.join(result.symptoms) or 'none')}</p>"
            f"{lr}<h2>Verdicts over time (the original recipe)</h2><table><tr><th>step</th>"
            f"<th>symptom</th><th>layer</th><th>seen</th><th>fix</th></tr>{verdicts}</table>"
            f"{screened}"
            "<h2>The race (equal budgets; chosen on validation accuracy)</h2><table><tr>"
            "<th>recipe</th><th>why</th><th>status</th><th>val acc</th><th>test acc</th>"
            f"<th>time</th></tr>{races}</table><h2>Before and after</h2>"
            f"{svg}"
            f"<h2>The repaired recipe</h2><pre>{esc(result.fixed.to_toml())}</pre>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>trainwell doctor</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
            f"img{{max-width:100%}}</style></head><body>{body}</body></html>")
    return atomic_write_text(path, page)
