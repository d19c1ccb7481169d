"""The learning-rate range test: train a few hundred steps with an exponentially growing lr and
read the good learning rates off the loss curve.

At step ``i`` of ``n`` the lr is ``start_lr · (end_lr / start_lr)^(i / (n - 1))``. The loss is
smoothed with an exponential moving average (bias-corrected, as fastai's ``lr_find``), and the
test stops once the smoothed loss exceeds ``diverge`` times its best or stops being finite.
The suggestion is a tenth of ``min_lr``, the lr at the smoothed loss's minimum (Smith's and
fastai's classic rule); ``steepest`` is the lr of steepest descent before the minimum, the
other usual choice, which early noise in the curve can mislead. The
model's weights and buffers, the optimizer's state and hyper-parameters, and the RNG are
restored afterwards.

Reference: L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017;
fastai's ``Learner.lr_find``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainwell.errors import ConfigError

__all__ = ["lr_find", "LRFind"]


@dataclass
class LRFind:
    """The range test's curve (``lrs`` and smoothed ``losses``), ``min_lr`` (the lr at the
    smoothed loss's minimum), ``steepest`` (the lr of steepest descent before it) and the
    ``suggestion``, a tenth of ``min_lr``."""

    lrs: list[float]
    losses: list[float]
    min_lr: float
    steepest: float

    @property
    def suggestion(self) -> float:
        return self.min_lr / 10

    def __str__(self) -> str:
        return (f"suggested lr {self.suggestion:.3g} (a tenth of the loss's minimum at "
                f"{self.min_lr:.3g}); steepest descent at {self.steepest:.3g}; {len(self.lrs)} steps")

    def figure(self):  # -> matplotlib.figure.Figure
        """The loss against the lr (log scale), the suggestion and the minimum marked."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(self.lrs, self.losses, color="#4c72b0")
        ax.axvline(self.suggestion, color="#55a868", linestyle="--",
                   label=f"suggested {self.suggestion:.2g}")
        ax.axvline(self.min_lr, color="#c44e52", linestyle=":", label=f"minimum {self.min_lr:.2g}")
        ax.set_xscale("log")
        low, start = min(self.losses), self.losses[0]
        ax.set_ylim(low - 0.05 * (start - low + 1e-9), start + 0.5 * (start - low + 1e-9))
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        ax.legend(fontsize=8)
        return fig

    def save(self, path: str) -> None:
        """Write :meth:`figure` as a PNG."""
        self.figure().savefig(path, dpi=100)


def lr_find(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, *,
            loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
            start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100, batch_size: int = 64,
            smooth: float = 0.98, diverge: float = 4.0,
            generator: torch.Generator | None = None) -> LRFind:
    """Run the range test on minibatches of ``(x, y)`` and return its :class:`LRFind`.

    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    >>> x = torch.randn(512, 10); y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    >>> before = [p.clone() for p in net.parameters()]
    >>> found = lr_find(net, torch.optim.SGD(net.parameters(), lr=0.1), x, y, steps=60)
    >>> 1e-7 < found.suggestion < 10, all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    (True, True)
    """
    if not 0 < start_lr < end_lr:
        raise ConfigError("start_lr", start_lr, f"a number > 0 and below end_lr ({end_lr})")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 10:
        raise ConfigError("steps", steps, "an integer >= 10")
    if len(x) == 0 or len(x) != len(y):
        raise ConfigError("x", tuple(x.shape), f"a non-empty batch of inputs matching y ({len(y)})")
    weights = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    gen = generator or torch.Generator().manual_seed(0)
    lrs: list[float] = []
    losses: list[float] = []
    avg, best = 0.0, math.inf
    try:
        with torch.random.fork_rng(devices=[]):
            model.train()
            for i in range(steps):
                lr = start_lr * (end_lr / start_lr) ** (i / (steps - 1))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                idx = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=gen).to(x.device)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    break
                avg = smooth * avg + (1 - smooth) * value
                smoothed = avg / (1 - smooth ** (i + 1))
                lrs.append(lr)
                losses.append(smoothed)
                best = min(best, smoothed)
                if i > 0 and smoothed > diverge * best:
                    break
    finally:
        model.load_state_dict(weights)
        optimizer.load_state_dict(opt_state)
        optimizer.zero_grad(set_to_none=True)
        model.train(was_training)
    if len(lrs) < 3:
        raise ConfigError("start_lr", start_lr, "a start at which the loss is finite for a few steps")
    steepest, low = _suggest(lrs, losses)
    return LRFind(lrs, losses, min_lr=low, steepest=steepest)


def _suggest(lrs: list[float], losses: list[float]) -> tuple[float, float]:
    """(steepest-descent lr before the minimum, lr at the minimum)."""
    low = min(range(len(losses)), key=losses.__getitem__)
    skip = max(1, len(losses) // 10)
    span = range(skip, max(skip + 1, low))
    if low <= skip + 1:
        return lrs[low] / 10, lrs[low]
    slopes = [(losses[i + 1] - losses[i - 1]) / (math.log(lrs[i + 1]) - math.log(lrs[i - 1]))
              for i in span if i + 1 < len(lrs)]
    steepest = span[min(range(len(slopes)), key=slopes.__getitem__)] if slopes else low
    return lrs[steepest], lrs[low]
