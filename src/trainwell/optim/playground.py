"""The optimizer playground: trainwell's optimizers raced on 2-D surfaces, drawn and animated.

1. Every optimizer starts from the surface's start point, with one shared lr or, with
   ``tune``, the lr of :data:`LR_GRID` that ends lowest (final losses within ``tol / 1000`` of
   the minimum tie; ties go to the fewest steps to the tolerance, then to the lr closest to
   the optimizer's default).
2. Each runs ``steps`` optimizer steps on one 2-D ``float64`` parameter, built by name through
   :func:`trainwell.optim.build_optimizer` (L-BFGS: one iteration per step, with its line
   search); a surface's ``grad_noise`` is added to every gradient from a seeded generator.
3. :func:`draw_png` draws the contours with every trajectory; :func:`animation_html` writes
   a self-contained page that replays them (inline image and script, nothing fetched).

>>> sgd, momentum = run_playground("taco", ["sgd", "momentum"], steps=100).trajectories
>>> sgd.steps_to_tol, momentum.steps_to_tol
(None, 51)
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import json
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.table import Table

from trainwell._io import atomic_write_bytes, atomic_write_text
from trainwell.errors import ConfigError
from trainwell.names import get
from trainwell.optim import OPTIMIZERS, build_optimizer
from trainwell.optim.optimizers import needs_closure
from trainwell.optim.surfaces import SURFACES, Surface

__all__ = ["LR_GRID", "DEFAULT_OPTIMIZERS", "Trajectory", "PlaygroundResult", "run_playground",
           "draw_png", "animation_html", "playground_main"]

LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2")


@dataclass(frozen=True)
class Trajectory:
    """One optimizer's path: ``points[i]`` after ``i`` steps (start included), the loss there,
    and ``grads[i]`` the gradient (noise included) step ``i`` was taken from.

    A run whose loss stops being finite ends there with ``diverged`` set.
    """

    optimizer: str
    lr: float
    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    steps_to_tol: int | None
    diverged: bool

    @property
    def final_loss(self) -> float:
        return math.inf if self.diverged else float(self.losses[-1])


@dataclass(frozen=True)
class PlaygroundResult:
    """Every trajectory on one surface, with the settings that produced them."""

    surface: Surface
    trajectories: list[Trajectory]
    steps: int
    tol: float
    tuned: bool


def _run(surface: Surface, name: str, lr: float, steps: int, tol: float, seed: int,
         start: tuple[float, float]) -> Trajectory:
    p = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    one_iteration = {"max_iter": 1, "max_eval": 25} if name == "lbfgs" else {}
    opt = build_optimizer(name, [p], lr=lr, **one_iteration)
    gen = torch.Generator().manual_seed(seed)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = surface(p)
        loss.backward()
        if surface.grad_noise:
            assert p.grad is not None  # backward() has just filled it
            noise = torch.randn(2, generator=gen, dtype=torch.float64)
            p.grad.add_(noise, alpha=surface.grad_noise)
        return loss

    points, grads = [p.detach().clone()], []
    losses = [float(surface(points[0]))]
    diverged = False
    for _ in range(steps):
        closure()
        assert p.grad is not None
        grads.append(p.grad.detach().clone())
        if needs_closure(opt):
            opt.step(closure)
        else:
            opt.step()
        with torch.no_grad():
            loss = float(surface(p))
        if not (math.isfinite(loss) and bool(torch.isfinite(p).all())):
            diverged = True
            break
        points.append(p.detach().clone())
        losses.append(loss)
    f_min = surface.f_min
    reached = next((i for i, v in enumerate(losses) if v - f_min < tol), None)
    grads = grads[:len(points) - 1]
    return Trajectory(name, lr, torch.stack(points).numpy(), np.array(losses),
                      torch.stack(grads).numpy() if grads else np.zeros((0, 2)), reached, diverged)


def _score(t: Trajectory, f_min: float, tol: float) -> tuple[float, float, float]:
    gap = t.final_loss - f_min
    gap = 0.0 if gap < tol / 1000 else gap
    default_lr = inspect.signature(OPTIMIZERS[t.optimizer]).parameters["lr"].default
    return (gap, math.inf if t.steps_to_tol is None else t.steps_to_tol,
            abs(math.log(t.lr / default_lr)))


def run_playground(surface: Surface | str, optimizers: list[str], *, steps: int = 200,
                   lr: float | None = None, tune: bool = False, tol: float = 1e-3, seed: int = 0,
                   start: tuple[float, float] | None = None,
                   grid: tuple[float, ...] = LR_GRID) -> PlaygroundResult:
    """Race ``optimizers`` on ``surface`` from one start point; see the module docstring.

    ``lr=None`` uses the surface's suggested lr (ignored with ``tune``); ``start=None`` its
    start point. A trajectory reaches the tolerance at its first loss within ``tol`` of the
    minimum.
    """
    if isinstance(surface, str):
        surface = get(SURFACES, surface, key="--surface")
    for name in optimizers:
        get(OPTIMIZERS, name, key="--optim")
    if steps < 1:
        raise ConfigError("--steps", steps, "a whole number >= 1")
    if lr is not None and not lr > 0:
        raise ConfigError("--lr", lr, "a number > 0")
    start = surface.start if start is None else start
    runs = []
    for name in optimizers:
        lrs = grid if tune else [surface.lr if lr is None else lr]
        tries = [_run(surface, name, value, steps, tol, seed, start) for value in lrs]
        runs.append(min(tries, key=lambda t: _score(t, surface.f_min, tol)))
    return PlaygroundResult(surface, runs, steps, tol, tune)


def _contours(ax, surface: Surface, n: int = 200) -> None:
    x0, x1, y0, y1 = surface.window
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, n, dtype=torch.float64),
                            torch.linspace(y0, y1, n, dtype=torch.float64), indexing="xy")
    with torch.no_grad():
        z = surface(torch.stack([gx, gy])).numpy()
    xs, ys = gx.numpy(), gy.numpy()
    levels = np.unique(np.quantile(z, np.linspace(0, 1, 25)))
    ax.contourf(xs, ys, z, levels=levels, cmap="Blues_r", alpha=0.45)
    ax.contour(xs, ys, z, levels=levels, colors="#777777", linewidths=0.5)
    ax.plot(*surface.minimum, marker="*", ms=15, color="gold", mec="black", ls="none", zorder=5)
    for point in surface.local_minima:
        ax.plot(*point, marker="X", ms=10, color="#bbbbbb", mec="black", ls="none", zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _clipped(points: np.ndarray, surface: Surface) -> np.ndarray:
    """Points far outside the window are pulled in, so drawing never meets huge numbers."""
    x0, x1, y0, y1 = surface.window
    pad = 10 * max(x1 - x0, y1 - y0)
    return np.clip(points, [x0 - pad, y0 - pad], [x1 + pad, y1 + pad])


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def draw_png(result: PlaygroundResult, *, dpi: int = 100) -> bytes:
    """The surface's contours with every trajectory, its lr in the legend, as PNG bytes."""
    surface = result.surface
    fig = Figure(figsize=(7.5, 5.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _contours(ax, surface)
    for t, color in zip(result.trajectories, _COLORS * 4, strict=False):
        pts = _clipped(t.points, surface)
        ax.plot(pts[:, 0], pts[:, 1], "-o", ms=2.5, lw=1.3, color=color,
                label=f"{t.optimizer} (lr {t.lr:g}{', tuned' if result.tuned else ''})"
                + (" diverged" if t.diverged else ""))
    ax.plot(*surface.start, marker="o", ms=7, color="black", ls="none", label="start", zorder=5)
    ax.plot([], [], marker="*", ms=11, color="gold", mec="black", ls="none", label="minimum")
    if surface.local_minima:
        ax.plot([], [], marker="X", ms=8, color="#bbbbbb", mec="black", ls="none",
                label="local minimum")
    ax.set_title(f"{surface.name}: {result.steps} steps\n{textwrap.fill(surface.description, 90)}",
                 fontsize=9)
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    return _png(fig)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>
body{{font-family:sans-serif;margin:1.5em}} canvas{{border:1px solid #ccc;
background-image:url(data:image/png;base64,{bg});background-size:100% 100%}}
td,th{{padding:2px 10px;text-align:left}} .sw{{display:inline-block;width:14px;height:4px;
vertical-align:middle;margin-right:6px}}</style></head><body><h2>{title}</h2><p>{description}</p>
<canvas id="c" width="{w}" height="{h}"></canvas><p><button id="play">pause</button>
<input id="slider" type="range" min="0" max="{steps}" value="0" style="width:{w}px">
step <span id="step">0</span> / {steps}</p><table><tr><th>optimizer</th><th>lr</th>
<th>final loss</th><th>steps to tol {tol:g}</th></tr>{rows}</table>
<script>
const D = {data};
const c = document.getElementById("c"), ctx = c.getContext("2d");
const slider = document.getElementById("slider"), label = document.getElementById("step");
let k = 0, playing = true;
function draw() {{
  ctx.clearRect(0, 0, c.width, c.height);
  D.paths.forEach((path, i) => {{
    const n = Math.min(k, path.length - 1);
    ctx.strokeStyle = ctx.fillStyle = D.colors[i]; ctx.lineWidth = 2; ctx.beginPath();
    ctx.moveTo(path[0][0], path[0][1]);
    for (let j = 1; j <= n; j++) ctx.lineTo(path[j][0], path[j][1]);
    ctx.stroke(); ctx.beginPath(); ctx.arc(path[n][0], path[n][1], 4, 0, 2 * Math.PI); ctx.fill();
  }});
  slider.value = Math.min(k, D.steps); label.textContent = Math.min(k, D.steps);
}}
function tick() {{ if (playing) {{ k = k >= D.steps + 25 ? 0 : k + 1; draw(); }} }}
const play = document.getElementById("play");
play.onclick = () => {{ playing = !playing; play.textContent = playing ? "pause" : "play"; }};
slider.oninput = () => {{
  k = Number(slider.value); playing = false; play.textContent = "play"; draw();
}};
draw(); setInterval(tick, 40);
</script></body></html>
"""


def animation_html(result: PlaygroundResult, *, width: int = 640, height: int = 480) -> str:
    """A self-contained HTML page that replays every trajectory over the surface's contours."""
    surface = result.surface
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    _contours(ax, surface)
    x0, x1, y0, y1 = surface.window
    paths = [[[round((x - x0) / (x1 - x0) * width, 1), round((y1 - y) / (y1 - y0) * height, 1)]
              for x, y in _clipped(t.points, surface)] for t in result.trajectories]
    colors = list((_COLORS * 4)[:len(paths)])
    rows = "".join(
        f'<tr><td><span class="sw" style="background:{color}"></span>{html.escape(t.optimizer)}'
        f"</td><td>{t.lr:g}</td><td>{'diverged' if t.diverged else f'{t.final_loss:.4g}'}</td>"
        f"<td>{'-' if t.steps_to_tol is None else t.steps_to_tol}</td></tr>"
        for t, color in zip(result.trajectories, colors, strict=False))
    data = json.dumps({"paths": paths, "colors": colors, "steps": result.steps})
    title = f"{surface.name}: {result.steps} steps" + (" (lr tuned)" if result.tuned else "")
    return _PAGE.format(title=html.escape(title), description=html.escape(surface.description),
                        bg=base64.b64encode(_png(fig)).decode("ascii"), w=width, h=height,
                        steps=result.steps, tol=result.tol, rows=rows, data=data)


def playground_main(surfaces: list[str] | None, optimizers: list[str] | None, steps: int,
                    out_dir: str | Path, tune: bool, *, lr: float | None = None,
                    seed: int = 0) -> Table:
    """Run the playground on each surface (``None``: all), write ``<surface>.png`` and
    ``<surface>.html`` into ``out_dir``, and return a table of the results.

    Every name is checked before anything runs or is written.
    """
    names = list(SURFACES) if not surfaces else list(surfaces)
    chosen = [get(SURFACES, name, key="--surface") for name in names]
    optimizers = list(DEFAULT_OPTIMIZERS) if not optimizers else list(optimizers)
    for name in optimizers:
        get(OPTIMIZERS, name, key="--optim")
    out = Path(out_dir)
    table = Table(title=f"optimizer playground, {steps} steps" + (", lr tuned" if tune else ""),
                  caption=f"pictures in {out}")
    for column in ("surface", "optimizer", "lr", "final loss - min", "steps to tol"):
        table.add_column(column, justify="left" if column in ("surface", "optimizer") else "right")
    for surface in chosen:
        result = run_playground(surface, optimizers, steps=steps, lr=lr, tune=tune, seed=seed)
        atomic_write_bytes(out / f"{surface.name}.png", draw_png(result))
        atomic_write_text(out / f"{surface.name}.html", animation_html(result))
        for t in result.trajectories:
            gap = "diverged" if t.diverged else f"{t.final_loss - surface.f_min:.3g}"
            table.add_row(surface.name, t.optimizer, f"{t.lr:g}", gap,
                          "-" if t.steps_to_tol is None else str(t.steps_to_tol))
    return table
