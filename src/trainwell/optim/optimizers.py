"""The lecture's optimizers by name, built on ``torch.optim`` with CS231n's defaults.

Each builder takes the parameters to optimize and keyword-only hyper-parameters; the
keyword-only signature is also the schema of a recipe's ``[optim]`` table.
Update rules (CS231n lecture 7; ``g`` the gradient, ``lr`` the learning rate):

- sgd:       x -= lr * g
- momentum:  v = rho * v + g;  x -= lr * v                          (Polyak 1964)
- nesterov:  v = rho * v + g;  x -= lr * (g + rho * v)              (Nesterov 1983; Sutskever et al. 2013)
- adagrad:   s += g^2;  x -= lr * g / (sqrt(s) + eps)              (Duchi et al. 2011)
- rmsprop:   s = alpha * s + (1 - alpha) * g^2;  x -= lr * g / (sqrt(s) + eps)   (Tieleman & Hinton 2012)
- adam:      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  m^ = m/(1-b1^t);  v^ = v/(1-b2^t);
             x -= lr * m^ / (sqrt(v^) + eps)                        (Kingma & Ba 2015)
- adamw:     adam with weight decay decoupled from the gradient     (Loshchilov & Hutter 2019)
- lbfgs:     quasi-Newton: x -= lr * H g, H built from the last ``history_size`` (dx, dg) pairs,
             with a strong-Wolfe line search                        (Liu & Nocedal 1989)

:mod:`trainwell.optim.rules` writes each rule by hand; the tests check torch against it.
L-BFGS re-evaluates the loss inside its step: call ``optimizer.step(closure)``
(:func:`needs_closure` tells), on full batches, since its curvature model breaks under
minibatch noise (the lecture's advice).

``fused = true`` (sgd, momentum, nesterov, adagrad, adam, adamw) takes torch's fused step: one
kernel updates every parameter, where the default multi-tensor step runs a few kernels per
update term. The same rule, not the same rounding: after 20 steps of a small network the
parameters agree with the default step's to about 1e-6 (``tests/optim/test_optimizers.py``),
so a run with it is not bit-identical to one without. Adam's step on the MNIST-1D study's
residual CNN takes about a third of the time (one thread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import torch
from pydantic import Field

from trainwell.errors import ConfigError
from trainwell.names import get
from trainwell.optim.adam_uncorrected import UncorrectedAdam
from trainwell.params import validate_params

__all__ = ["OPTIMIZERS", "DESCRIPTIONS", "STEP_OPTIONS", "optimizer_options", "sgd", "momentum",
           "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs", "needs_closure"]

Params = Iterable[torch.nn.Parameter]
LR = Annotated[float, Field(gt=0)]
Decay = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, lt=1)]
Eps = Annotated[float, Field(gt=0)]
Betas = Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Field(min_length=2, max_length=2)]
FOREACH = True
"""Every first-order optimizer here runs torch's multi-tensor (``foreach``) step on every device;
torch picks it by default on CUDA alone. On the CPU it gives the same numbers as the loop over
parameters (``tests/optim/test_optimizers.py`` checks it), and a training step of an 8-layer,
64-wide MLP with batch norm takes 2 % (SGD, AdaGrad) to 16 % (RMSProp) less time, 9 % for Adam,
on one thread."""


def _step_kind(fused: bool) -> dict[str, bool]:
    """torch's keyword for the kind of step: ``fused`` (one kernel for every parameter) when
    asked for, else the multi-tensor step (:data:`FOREACH`); torch takes one of them, not both."""
    return {"fused": True} if fused else {"foreach": FOREACH}


def sgd(params: Params, *, lr: LR = 0.01, weight_decay: Decay = 0.0,
        fused: bool = False) -> torch.optim.Optimizer:
    """Vanilla minibatch SGD: ``x -= lr * g``.

    >>> opt = sgd(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, **_step_kind(fused))


def momentum(params: Params, *, lr: LR = 0.01, momentum: Rate = 0.9,
             weight_decay: Decay = 0.0, fused: bool = False) -> torch.optim.Optimizer:
    """SGD with momentum (rho = ``momentum``, typically 0.9 or 0.99): ``v = rho v + g; x -= lr v``.

    Polyak, "Some methods of speeding up the convergence of iteration methods", 1964.

    >>> opt = momentum(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           **_step_kind(fused))


def nesterov(params: Params, *, lr: LR = 0.01, momentum: Rate = 0.9,
             weight_decay: Decay = 0.0, fused: bool = False) -> torch.optim.Optimizer:
    """Nesterov momentum in the lecture's change of variables: ``x -= lr (g + rho v)``.

    ``v = rho v + g;  x -= lr (g + rho v)``, with ``g`` the gradient at the kept point ``x``; the
    same iterates as the look-ahead form ``v' = rho v - lr grad f(x + rho v)`` after the change
    of variables ``x~ = x + rho v`` (see :mod:`trainwell.optim.rules`). Sutskever, Martens, Dahl
    & Hinton, "On the importance of initialization and momentum in deep learning", 2013.

    >>> opt = nesterov(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True,
                           weight_decay=weight_decay, **_step_kind(fused))


def adagrad(params: Params, *, lr: LR = 0.01, eps: Eps = 1e-7,
            weight_decay: Decay = 0.0, fused: bool = False) -> torch.optim.Optimizer:
    """AdaGrad: per-coordinate steps scaled by the root of the growing sum of squared gradients.

    ``s += g^2;  x -= lr * g / (sqrt(s) + eps)``; ``eps`` = 1e-7 as in the lecture's code.
    Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
    Optimization", 2011.

    >>> opt = adagrad(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=weight_decay,
                               **_step_kind(fused))


def rmsprop(params: Params, *, lr: LR = 1e-3, alpha: Rate = 0.99, eps: Eps = 1e-7,
            weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """RMSProp: AdaGrad with a leaky (decay ``alpha``) sum of squared gradients.

    ``s = alpha * s + (1 - alpha) * g^2;  x -= lr * g / (sqrt(s) + eps)``
    (Tieleman & Hinton, Coursera lecture 6.5, 2012).

    >>> opt = rmsprop(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                               foreach=FOREACH)


def adam(params: Params, *, lr: LR = 1e-3, betas: Betas = [0.9, 0.999], eps: Eps = 1e-8,  # noqa: B006
         weight_decay: Decay = 0.0, bias_correction: bool = True,
         fused: bool = False) -> torch.optim.Optimizer:
    """Adam with bias correction; the lecture's defaults beta1=0.9, beta2=0.999, lr=1e-3.

    ``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  x -= lr * m^ / (sqrt(v^) + eps)`` with
    ``m^ = m / (1 - b1^t)``, ``v^ = v / (1 - b2^t)`` (Kingma & Ba, "Adam: A Method for Stochastic
    Optimization", 2015). ``bias_correction=False`` uses ``m`` and ``v`` as they are
    (:class:`~trainwell.optim.adam_uncorrected.UncorrectedAdam`, the lecture's "Adam (almost)"):
    its first steps are up to ``(1 - b1) / sqrt(1 - b2)`` times too big (3.16 with the defaults).

    >>> opt = adam(torch.nn.Linear(2, 1).parameters())
    >>> type(adam(torch.nn.Linear(2, 1).parameters(), bias_correction=False)).__name__
    'UncorrectedAdam'
    """
    beta1, beta2 = betas
    if not bias_correction:
        _check_fused(fused, bias_correction)
        return UncorrectedAdam(params, lr=lr, betas=(beta1, beta2), eps=eps,
                               weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                            **_step_kind(fused))


def adamw(params: Params, *, lr: LR = 1e-3, betas: Betas = [0.9, 0.999], eps: Eps = 1e-8,  # noqa: B006
          weight_decay: Decay = 0.01, fused: bool = False) -> torch.optim.Optimizer:
    """AdamW: Adam with decoupled weight decay (``x -= lr * wd * x`` beside the Adam step).

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019.

    >>> opt = adamw(torch.nn.Linear(2, 1).parameters())
    """
    beta1, beta2 = betas
    return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                             **_step_kind(fused))


def lbfgs(params: Params, *, lr: LR = 1.0, max_iter: Annotated[int, Field(ge=1)] = 20,
          max_eval: Annotated[int, Field(ge=1)] | None = None,
          history_size: Annotated[int, Field(ge=1)] = 100,
          line_search_fn: Literal["strong_wolfe", "none"] = "strong_wolfe",
          ) -> torch.optim.Optimizer:
    """L-BFGS, a quasi-Newton method: ``x -= lr * H g`` with ``H`` an inverse-Hessian estimate.

    ``H`` comes from the last ``history_size`` pairs of position and gradient changes; one
    ``step(closure)`` runs up to ``max_iter`` iterations and ``max_eval`` evaluations of
    ``closure`` (default ``max_iter * 5 // 4``; the line search needs several per iteration),
    where ``closure`` zeroes the gradients, computes the full-batch loss, calls backward and
    returns the loss.
    Liu & Nocedal, "On the limited memory BFGS method for large scale optimization", 1989.

    **Note**: ``line_search_fn`` defaults to ``"strong_wolfe"`` (torch's default is no line
    search, a fixed step ``lr`` that diverges easily on non-convex losses); ``"none"`` gives
    torch's behaviour.

    >>> opt = lbfgs(torch.nn.Linear(2, 1).parameters(), max_iter=5)
    """
    return torch.optim.LBFGS(params, lr=lr, max_iter=max_iter, max_eval=max_eval,
                             history_size=history_size,
                             line_search_fn=None if line_search_fn == "none" else line_search_fn)


def needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """True when ``optimizer.step`` must be given a closure that re-evaluates the loss (L-BFGS).

    >>> needs_closure(lbfgs(torch.nn.Linear(2, 1).parameters()))
    True
    """
    return isinstance(optimizer, torch.optim.LBFGS)


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
    "rmsprop": rmsprop, "adam": adam, "adamw": adamw, "lbfgs": lbfgs,
}

def optimizer_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[optim]`` options of optimizer ``name`` checked, defaults filled in. Raises
    :class:`ConfigError` at ``optim.<key>``.

    >>> optimizer_options("adam", {"lr": 0.01})["lr"], optimizer_options(
    ...     "adam", {"bias_correction": False})["bias_correction"]
    (0.01, False)
    """
    checked = validate_params(get(OPTIMIZERS, name, key="optim.name"), options, key="optim")
    _check_fused(checked.get("fused", False), checked.get("bias_correction", True))
    return checked


def _check_fused(fused: bool, bias_correction: bool) -> None:
    if fused and not bias_correction:
        raise ConfigError("optim.fused", fused, "false with bias_correction = false (torch's "
                          "fused Adam step always corrects the bias)")


DESCRIPTIONS = {
    "sgd": "plain minibatch SGD, x -= lr*g",
    "momentum": "SGD + momentum 0.9: v = rho*v + g; x -= lr*v",
    "nesterov": "Nesterov momentum: the gradient at the look-ahead point",
    "adagrad": "per-coordinate step shrinking with the sum of squared gradients",
    "rmsprop": "AdaGrad with a decaying average of squared gradients (alpha 0.99)",
    "adam": "momentum + RMSProp with bias correction (0.9, 0.999, lr 1e-3)",
    "adamw": "Adam with decoupled weight decay 0.01",
    "lbfgs": "quasi-Newton L-BFGS with line search, full batch (lr 1)",
}

STEP_OPTIONS = {
    "fused": "false (default) or true, for sgd, momentum, nesterov, adagrad, adam and adamw: "
             "torch's fused step, one kernel for every parameter (the same rule, rounded "
             "differently from the default multi-tensor step)",
}
"""The ``[optim]`` options that choose how the step runs, not what it computes."""
