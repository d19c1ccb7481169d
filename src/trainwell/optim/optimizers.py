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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import torch
from pydantic import Field

__all__ = ["OPTIMIZERS", "DESCRIPTIONS", "sgd", "momentum", "nesterov", "adagrad", "rmsprop",
           "adam", "adamw"]

Params = Iterable[torch.nn.Parameter]
LR = Annotated[float, Field(gt=0)]
Decay = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, lt=1)]
Eps = Annotated[float, Field(gt=0)]
Betas = Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Field(min_length=2, max_length=2)]


def sgd(params: Params, *, lr: LR = 0.01, weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """Vanilla minibatch SGD: ``x -= lr * g``.

    >>> opt = sgd(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)


def momentum(params: Params, *, lr: LR = 0.01, momentum: Rate = 0.9,
             weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """SGD with momentum (rho = ``momentum``, typically 0.9 or 0.99): ``v = rho v + g; x -= lr v``.

    >>> opt = momentum(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def nesterov(params: Params, *, lr: LR = 0.01, momentum: Rate = 0.9,
             weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """Nesterov momentum in the lecture's change of variables: ``x -= lr (g + rho v)``.

    >>> opt = nesterov(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True,
                           weight_decay=weight_decay)


def adagrad(params: Params, *, lr: LR = 0.01, eps: Eps = 1e-7,
            weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """AdaGrad: per-coordinate steps scaled by the root of the growing sum of squared gradients.

    ``eps`` = 1e-7 as in the lecture's code.

    >>> opt = adagrad(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=weight_decay)


def rmsprop(params: Params, *, lr: LR = 1e-3, alpha: Rate = 0.99, eps: Eps = 1e-7,
            weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """RMSProp: AdaGrad with a leaky (decay ``alpha``) sum of squared gradients.

    >>> opt = rmsprop(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay)


def adam(params: Params, *, lr: LR = 1e-3, betas: Betas = [0.9, 0.999], eps: Eps = 1e-8,  # noqa: B006
         weight_decay: Decay = 0.0) -> torch.optim.Optimizer:
    """Adam with bias correction; the lecture's defaults beta1=0.9, beta2=0.999, lr=1e-3.

    >>> opt = adam(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


def adamw(params: Params, *, lr: LR = 1e-3, betas: Betas = [0.9, 0.999], eps: Eps = 1e-8,  # noqa: B006
          weight_decay: Decay = 0.01) -> torch.optim.Optimizer:
    """AdamW: Adam with decoupled weight decay (``x -= lr * wd * x`` beside the Adam step).

    >>> opt = adamw(torch.nn.Linear(2, 1).parameters())
    """
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


OPTIMIZERS = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
    "rmsprop": rmsprop, "adam": adam, "adamw": adamw,
}

DESCRIPTIONS = {
    "sgd": "plain minibatch SGD, x -= lr*g",
    "momentum": "SGD + momentum 0.9: v = rho*v + g; x -= lr*v",
    "nesterov": "Nesterov momentum: the gradient at the look-ahead point",
    "adagrad": "per-coordinate step shrinking with the sum of squared gradients",
    "rmsprop": "AdaGrad with a decaying average of squared gradients (alpha 0.99)",
    "adam": "momentum + RMSProp with bias correction (0.9, 0.999, lr 1e-3)",
    "adamw": "Adam with decoupled weight decay 0.01",
}
