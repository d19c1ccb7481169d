"""Adam without bias correction: the moment estimates used as they are, biased towards zero.

``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  x -= lr m / (sqrt(v) + eps)``, the update
of Kingma & Ba ("Adam: A Method for Stochastic Optimization", 2015, Algorithm 1) with the
corrections ``m^ = m / (1 - b1^t)`` and ``v^ = v / (1 - b2^t)`` left out, as in CS231n lecture
7's "Adam (almost)". Both moments start at zero, so early on ``m`` and ``v`` are too small by
the factors ``1 - b1^t`` and ``1 - b2^t``; with the defaults the first step is
``lr (1 - b1) / sqrt(1 - b2) = 3.16 lr`` per coordinate instead of ``lr``, and the factor
``sqrt(1 - b2^t) / (1 - b1^t)`` returns to 1 only after some thousands of steps.
``torch.optim.Adam`` always corrects; this optimizer exists to show what the correction does.
The hand-written reference is :func:`trainwell.optim.rules.adam_step` with
``bias_correction=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["UncorrectedAdam"]


class UncorrectedAdam(torch.optim.Optimizer):
    """Adam whose moment estimates are not divided by ``1 - beta^t``.

    ``weight_decay`` adds ``weight_decay * x`` to the gradient, as ``torch.optim.Adam`` does.

    >>> p = torch.nn.Parameter(torch.zeros(1))
    >>> opt = UncorrectedAdam([p], lr=0.1)
    >>> p.grad = torch.ones(1)
    >>> opt.step()
    >>> round(-p.item(), 4)  # lr (1 - b1) / sqrt(1 - b2), not lr
    0.3162
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], *, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Invalid betas: {betas}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter with a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-group["lr"])
        return loss
