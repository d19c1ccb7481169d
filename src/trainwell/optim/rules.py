"""The lecture's update rules written by hand on plain tensors: the reference for torch's.

Each rule is a pure function ``rule(x, g, state, **hyper) -> (x, state)``: ``x`` the current
point, ``g`` the gradient there, ``state`` a dict (``{}`` before the first step) that is never
changed in place. Hyper-parameters are named as in ``torch.optim`` (``momentum`` is the
lecture's rho, ``alpha`` RMSProp's decay rate, ``betas`` Adam's beta1 and beta2).

Nesterov momentum is written as in the lecture (CS231n lecture 7; Sutskever et al., "On the
importance of initialization and momentum in deep learning", 2013). Its original form takes
the gradient at a look-ahead point::

    v' = rho v - lr grad f(x + rho v);   x' = x + v'

The change of variables ``x~ = x + rho v`` gives an update that needs the gradient only at the
point it keeps, ``x~``::

    v' = rho v - lr grad f(x~);   x~' = x~ - rho v + (1 + rho) v'

torch keeps ``b = -v / lr`` instead (``b' = rho b + g;  x~' = x~ - lr (g + rho b')``); expanding
``g = b' - rho b`` shows both are the same update while ``lr`` is constant.

>>> import torch
>>> x, state = adam_step(torch.tensor([1.0, 1.0]), torch.tensor([1e-3, 1e3]), {}, lr=0.1)
>>> x  # the first bias-corrected Adam step is lr in every coordinate, whatever the scale
tensor([0.9000, 0.9000])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = ["RULES", "sgd_step", "momentum_step", "nesterov_step", "nesterov_lookahead_step",
           "adagrad_step", "rmsprop_step", "adam_step", "adamw_step"]

State = dict[str, Any]


def sgd_step(x: Tensor, g: Tensor, state: State, *, lr: float) -> tuple[Tensor, State]:
    """Vanilla gradient descent: ``x -= lr * g``."""
    return x - lr * g, state


def momentum_step(x: Tensor, g: Tensor, state: State, *, lr: float,
                  momentum: float = 0.9) -> tuple[Tensor, State]:
    """SGD + momentum (Polyak 1964): ``v = rho v + g;  x -= lr v``."""
    v = momentum * state.get("v", torch.zeros_like(x)) + g
    return x - lr * v, {"v": v}


def nesterov_step(x: Tensor, g: Tensor, state: State, *, lr: float,
                  momentum: float = 0.9) -> tuple[Tensor, State]:
    """Nesterov momentum in the lecture's change of variables; ``g`` is the gradient at ``x``.

    ``v' = rho v - lr g;  x' = x - rho v + (1 + rho) v'`` (``v`` carries the step, lr included).
    """
    v = state.get("v", torch.zeros_like(x))
    v_new = momentum * v - lr * g
    return x - momentum * v + (1 + momentum) * v_new, {"v": v_new}


def nesterov_lookahead_step(x: Tensor, grad_fn: Callable[[Tensor], Tensor], state: State, *,
                            lr: float, momentum: float = 0.9) -> tuple[Tensor, State]:
    """Nesterov momentum in its original form: the gradient at the look-ahead ``x + rho v``.

    ``v' = rho v - lr grad_fn(x + rho v);  x' = x + v'`` (Nesterov 1983). Its iterates ``x``
    relate to :func:`nesterov_step`'s by ``x~ = x + rho v``.
    """
    v = state.get("v", torch.zeros_like(x))
    v_new = momentum * v - lr * grad_fn(x + momentum * v)
    return x + v_new, {"v": v_new}


def adagrad_step(x: Tensor, g: Tensor, state: State, *, lr: float,
                 eps: float = 1e-7) -> tuple[Tensor, State]:
    """AdaGrad (Duchi et al. 2011): ``s += g^2;  x -= lr g / (sqrt(s) + eps)``; ``s`` only grows."""
    s = state.get("s", torch.zeros_like(x)) + g * g
    return x - lr * g / (s.sqrt() + eps), {"s": s}


def rmsprop_step(x: Tensor, g: Tensor, state: State, *, lr: float, alpha: float = 0.99,
                 eps: float = 1e-7) -> tuple[Tensor, State]:
    """RMSProp (Tieleman & Hinton 2012): ``s = alpha s + (1 - alpha) g^2;
    x -= lr g / (sqrt(s) + eps)``."""
    s = alpha * state.get("s", torch.zeros_like(x)) + (1 - alpha) * g * g
    return x - lr * g / (s.sqrt() + eps), {"s": s}


def adam_step(x: Tensor, g: Tensor, state: State, *, lr: float,
              betas: tuple[float, float] | list[float] = (0.9, 0.999), eps: float = 1e-8,
              bias_correction: bool = True) -> tuple[Tensor, State]:
    """Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015).

    ``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m^ = m / (1 - b1^t);
    v^ = v / (1 - b2^t);  x -= lr m^ / (sqrt(v^) + eps)``. With ``bias_correction=False``
    ``m^ = m`` and ``v^ = v``: the lecture's incomplete Adam, whose first step is
    ``lr (1 - b1) / sqrt(1 - b2)`` per coordinate (3.16 lr with the defaults) instead of ``lr``.
    """
    b1, b2 = betas
    t = state.get("t", 0) + 1
    m = b1 * state.get("m", torch.zeros_like(x)) + (1 - b1) * g
    v = b2 * state.get("v", torch.zeros_like(x)) + (1 - b2) * g * g
    m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if bias_correction else (m, v)
    return x - lr * m_hat / (v_hat.sqrt() + eps), {"t": t, "m": m, "v": v}


def adamw_step(x: Tensor, g: Tensor, state: State, *, lr: float,
               betas: tuple[float, float] | list[float] = (0.9, 0.999), eps: float = 1e-8,
               weight_decay: float = 0.01) -> tuple[Tensor, State]:
    """AdamW (Loshchilov & Hutter 2019): ``x -= lr wd x`` beside the Adam step on ``g``."""
    return adam_step(x * (1 - lr * weight_decay), g, state, lr=lr, betas=betas, eps=eps)


RULES: dict[str, Callable[..., tuple[Tensor, State]]] = {
    "sgd": sgd_step, "momentum": momentum_step, "nesterov": nesterov_step,
    "adagrad": adagrad_step, "rmsprop": rmsprop_step, "adam": adam_step, "adamw": adamw_step,
}
"""Each optimizer name of :data:`trainwell.optim.OPTIMIZERS` (but L-BFGS) → its hand rule."""
