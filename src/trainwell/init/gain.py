"""The gain of an activation: the factor that keeps a layer's output variance at its input's.

A layer ``y = W x`` with ``Var(W) = gain² / fan_in`` keeps ``E[y²]`` equal to ``E[x²]`` of the
previous layer when ``gain² = E[x²] / E[f(x)²]`` for the activation ``f`` between them.
He et al. (2015) derived ``gain = sqrt(2)`` for ReLU, which zeroes half of a symmetric input.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch

from trainwell.names import get
from trainwell.option_types import NegativeSlope

__all__ = ["Nonlinearity", "NONLINEARITIES", "NegativeSlope", "gain"]

Nonlinearity = Literal[
    "identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
    "elu", "gelu", "softsign", "maxout",
]

NONLINEARITIES: tuple[str, ...] = get_args(Nonlinearity)

# torch.nn.init.calculate_gain knows these; the others are decided below.
_TorchName = Literal["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
_TORCH_NAMES: dict[str, _TorchName] = {
    "identity": "linear", "linear": "linear", "sigmoid": "sigmoid", "tanh": "tanh",
    "relu": "relu", "leaky_relu": "leaky_relu", "selu": "selu",
}
_OWN_GAINS = {
    "elu": math.sqrt(2.0),
    "gelu": math.sqrt(2.0),
    "softsign": 1.0,
    "maxout": 1.0,
}


def gain(nonlinearity: str, *, negative_slope: float = 0.01) -> float:
    """Return the recommended gain for an activation, as ``torch.nn.init.calculate_gain`` does.

    ================  ============================  =============================================
    nonlinearity      gain                          why
    ================  ============================  =============================================
    identity, linear  1                             no change of scale
    sigmoid           1                             torch's value
    tanh              5/3                           torch's value
    relu              sqrt(2)                       He et al. (2015): ReLU halves ``E[x²]``
    leaky_relu        sqrt(2 / (1 + slope²))        He et al. (2015), negative slope ``slope``
    selu              3/4                           torch's value (see the note)
    elu               sqrt(2)                       rectifier; Clevert et al. (2016) used He init
    gelu              sqrt(2)                       rectifier; see the note
    softsign          1                             Glorot & Bengio (2010) used gain 1 with it
    maxout            1                             max of 2 linear pieces keeps ``E[x²]``
    ================  ============================  =============================================

    **Note** on the values torch does not list. For ``z ~ N(0, 1)``, the gain that keeps
    ``E[x²]`` exactly is ``1 / sqrt(E[f(z)²])``: 1.41 for relu, 1.53 for gelu, 1.24 for elu.
    GELU and ELU tend to ReLU for large inputs, so relu's ``sqrt(2)`` is their gain at every
    scale but the unit one. For maxout with two pieces ``a, b`` of equal symmetric law,
    ``max(a, b)² + min(a, b)² = a² + b²`` and ``min`` has the law of ``-max``, so
    ``E[max²] = E[a²]``: gain 1 (more pieces raise ``E[max²]``; gain 1 stays on the safe side).
    Softsign saturates more slowly than tanh; Glorot & Bengio trained it with their
    normalized initialization, i.e. gain 1.

    **Note** on selu: ``3/4`` follows torch. Self-normalizing networks (Klambauer et al.,
    2017) want gain 1 (``nonlinearity="linear"``), which gives ``Var(W) = 1 / fan_in``.

    References: K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers", 2015;
    X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
    neural networks", 2010; D.-A. Clevert, T. Unterthiner, S. Hochreiter, "Fast and
    Accurate Deep Network Learning by Exponential Linear Units (ELUs)", 2016;
    I. Goodfellow et al., "Maxout Networks", 2013.

    >>> round(gain("leaky_relu", negative_slope=0.2), 4)
    1.3868
    """
    get(dict.fromkeys(NONLINEARITIES), nonlinearity, key="init.nonlinearity")
    if nonlinearity in _OWN_GAINS:
        return _OWN_GAINS[nonlinearity]
    return float(torch.nn.init.calculate_gain(_TORCH_NAMES[nonlinearity], float(negative_slope)))


def _scheme_gain(nonlinearity: str | None, negative_slope: float | None) -> float:
    """The gain a scheme uses when called on a bare tensor: ``None`` means relu and slope 0.01."""
    return gain(nonlinearity or "relu", negative_slope=0.01 if negative_slope is None else negative_slope)
