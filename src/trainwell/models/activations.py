"""Activation functions by name, and the Maxout layer that learns its own activation.

Every hidden unit of a trainwell model applies one of :data:`ACTIVATIONS`. All but
``maxout`` are element-wise and built by :func:`make_activation`; ``maxout`` replaces the
unit's weighted layer with :class:`Maxout` (dense) or :class:`MaxoutConv` (convolution).
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import BeforeValidator, Field
from torch import nn

from trainwell.errors import ConfigError, did_you_mean
from trainwell.names import get
from trainwell.option_types import NegativeSlope

__all__ = [
    "ACTIVATIONS",
    "ActivationName",
    "Activation",
    "NegativeSlope",
    "MaxoutK",
    "make_activation",
    "Maxout",
    "MaxoutConv",
]

ActivationName = Literal[
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "softsign", "maxout"
]

ACTIVATIONS: dict[str, str] = {
    "identity": "f(x) = x; a linear network, however deep",
    "sigmoid": "f(x) = 1 / (1 + exp(-x)); saturates, gradient at most 1/4",
    "tanh": "f(x) = tanh(x); zero-centred sigmoid, saturates at ±1",
    "relu": "f(x) = max(0, x); Nair & Hinton 2010",
    "leaky_relu": "f(x) = max(a·x, x) with slope a = negative_slope; Maas et al. 2013",
    "elu": "f(x) = x if x > 0 else exp(x) - 1; Clevert et al. 2016",
    "selu": "f(x) = λ·elu_α(x), λ≈1.0507, α≈1.6733; self-normalizing, Klambauer et al. 2017",
    "gelu": "f(x) = x·Φ(x), Φ the standard normal CDF; Hendrycks & Gimpel 2016",
    "softsign": "f(x) = x / (1 + |x|); saturates polynomially, not exponentially",
    "maxout": "h_i = max_j (W_ij x + b_ij) over maxout_k pieces; a layer, Goodfellow et al. 2013",
}

_ELEMENTWISE = {
    "identity": lambda slope: nn.Identity(),
    "sigmoid": lambda slope: nn.Sigmoid(),
    "tanh": lambda slope: nn.Tanh(),
    "relu": lambda slope: nn.ReLU(),
    "leaky_relu": lambda slope: nn.LeakyReLU(slope),
    "elu": lambda slope: nn.ELU(),
    "selu": lambda slope: nn.SELU(),
    "gelu": lambda slope: nn.GELU(),
    "softsign": lambda slope: nn.Softsign(),
}


def _known_activation(value: object) -> object:
    """Reject an unknown activation name with the list of names and the closest match."""
    if isinstance(value, str) and value not in ACTIVATIONS:
        raise ValueError(f"one of {', '.join(sorted(ACTIVATIONS))}{did_you_mean(value, ACTIVATIONS)}")
    return value


Activation = Annotated[ActivationName, BeforeValidator(_known_activation)]
"""Recipe option type of an activation name: a Literal that suggests the closest name on a typo."""
MaxoutK = Annotated[int, Field(ge=2)]
"""Recipe option type of the number of linear pieces per maxout unit."""


def make_activation(name: str, *, negative_slope: float = 0.01) -> nn.Module:
    """Return a new element-wise activation module for ``name`` (any of ACTIVATIONS but maxout).

    ``negative_slope`` is the slope ``a`` of ``leaky_relu`` for ``x < 0``; other activations
    ignore it.

    >>> make_activation("leaky_relu", negative_slope=0.2)
    LeakyReLU(negative_slope=0.2)
    """
    if name == "maxout":
        raise ConfigError("model.activation", name, "an element-wise activation; maxout is a "
                          "layer with its own weights: build Maxout or MaxoutConv instead")
    build = get(_ELEMENTWISE, name, key="model.activation")
    if not negative_slope >= 0:
        raise ConfigError("model.negative_slope", negative_slope, "a number >= 0")
    return build(float(negative_slope))


def _check_pieces(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError("model.maxout_k", k, "an integer >= 2 (pieces per maxout unit)")


class Maxout(nn.Module):
    """Dense maxout layer: each output unit is the maximum of ``k`` affine pieces of the input.

    .. math:: h_i(x) = \\max_{j \\in [1, k]} \\big(W_{ij}^\\top x + b_{ij}\\big)

    The ``k * out_features`` pieces are one ordinary :class:`torch.nn.Linear` (``self.linear``),
    so initializers that walk Linear modules reach them. Rows ``i*k ... i*k + k - 1`` of
    ``self.linear.weight`` are the pieces of output unit ``i``.

    Reference: Goodfellow, Warde-Farley, Mirza, Courville, Bengio, "Maxout Networks", 2013.

    >>> layer = Maxout(4, 3, k=2)
    >>> layer.linear.weight.shape, layer(torch.zeros(5, 4)).shape
    (torch.Size([6, 4]), torch.Size([5, 3]))
    """

    def __init__(self, in_features: int, out_features: int, *, k: int = 2, bias: bool = True) -> None:
        super().__init__()
        _check_pieces(k)
        self.in_features, self.out_features, self.k = in_features, out_features, k
        self.linear = nn.Linear(in_features, out_features * k, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(-1, (self.out_features, self.k)).amax(dim=-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, k={self.k}"


class MaxoutConv(nn.Module):
    """Convolutional maxout layer: each output channel is the maximum of ``k`` convolutions.

    .. math:: h_i(x)[p] = \\max_{j \\in [1, k]} \\big((W_{ij} \\star x)[p] + b_{ij}\\big)

    The ``k * out_channels`` pieces are one ordinary :class:`torch.nn.Conv1d` (``dims=1``) or
    :class:`torch.nn.Conv2d` (``dims=2``) held in ``self.conv``; channels ``i*k ... i*k + k - 1``
    are the pieces of output channel ``i``. The maximum is taken per position ``p``, across
    pieces only (no spatial pooling).

    Reference: Goodfellow, Warde-Farley, Mirza, Courville, Bengio, "Maxout Networks", 2013.

    >>> layer = MaxoutConv(3, 8, 5, k=2, dims=2, padding=2)
    >>> layer(torch.zeros(1, 3, 16, 16)).shape
    torch.Size([1, 8, 16, 16])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, k: int = 2,
                 dims: int = 2, padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        _check_pieces(k)
        if dims not in (1, 2):
            raise ConfigError("dims", dims, "1 (Conv1d) or 2 (Conv2d)")
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.out_channels, self.k = out_channels, k
        self.conv = conv(in_channels, out_channels * k, kernel_size, padding=padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).unflatten(1, (self.out_channels, self.k)).amax(dim=2)

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}, k={self.k}"

