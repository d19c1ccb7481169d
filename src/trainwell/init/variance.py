"""One variance-scaling routine: every fan-based scheme (Glorot, He, LeCun) is a choice of its options.

``Var(W) = scale / n`` with ``n`` the layer's fan-in, fan-out or their mean, drawn from a
normal, a truncated normal or a uniform law of that variance — Keras's ``VarianceScaling``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field

from trainwell.errors import ConfigError

__all__ = ["fans", "variance_scaling_", "TRUNCATED_STD"]


def _truncated_std(k: float) -> float:
    """Standard deviation of ``N(0, 1)`` truncated to ``[-k, k]``."""
    pdf = math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(k / math.sqrt(2))
    return math.sqrt(1 - 2 * k * pdf / mass)


TRUNCATED_STD = _truncated_std(2.0)
"""Std of a standard normal truncated at ±2 std: 0.8796..., Keras's 0.87962566103423978."""


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a Linear or Conv weight, as torch computes them.

    A weight of shape ``(out, in, *kernel)`` has ``fan_in = in · prod(kernel)`` and
    ``fan_out = out · prod(kernel)``; a Linear weight ``(out, in)`` has an empty kernel.
    For a grouped convolution ``in`` is already ``in_channels / groups``.

    >>> fans(torch.empty(32, 16, 5, 5))
    (400, 800)
    """
    if tensor.dim() < 2:
        raise ValueError(f"fans need a weight with at least 2 dimensions, got shape {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def variance_scaling_(
    tensor: torch.Tensor,
    *,
    scale: Annotated[float, Field(gt=0)] = 1.0,
    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in",
    distribution: Literal["normal", "truncated_normal", "uniform"] = "normal",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with zero-mean values of variance ``scale / n``, in place.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` by ``mode``, and
    ``std = sqrt(scale / n)``. The ``distribution``:

    - ``"normal"``: ``N(0, std²)``.
    - ``"truncated_normal"``: ``N(0, σ²)`` cut at ``±2σ`` with ``σ = std / 0.8796``, so the
      values themselves have standard deviation ``std``.
    - ``"uniform"``: ``U(-limit, limit)`` with ``limit = sqrt(3) · std``.

    Glorot is ``scale=1, mode="fan_avg"``; He is ``scale=gain², mode="fan_in"``; LeCun is
    ``scale=1, mode="fan_in"``.

    **Note**: Keras's ``"truncated_normal"`` is this one; Keras's ``"untruncated_normal"`` is
    our ``"normal"``.

    Reference: F. Chollet et al., Keras ``VarianceScaling`` initializer; the three schemes
    it covers are X. Glorot, Y. Bengio (2010), K. He et al. (2015), Y. LeCun et al.,
    "Efficient BackProp" (1998).

    >>> g = torch.Generator().manual_seed(0)
    >>> w = variance_scaling_(torch.empty(100, 200), scale=2.0, mode="fan_in", generator=g)
    >>> round(w.std().item(), 2)  # sqrt(2 / 200)
    0.1
    """
    if not scale > 0:
        raise ConfigError("init.scale", scale, "a number > 0")
    fan_in, fan_out = fans(tensor)
    if tensor.numel() == 0:
        return tensor
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}.get(mode)
    if n is None:
        raise ConfigError("init.mode", mode, "one of fan_in, fan_out, fan_avg")
    std = math.sqrt(scale / n)
    if distribution == "normal":
        return torch.nn.init.normal_(tensor, 0.0, std, generator=generator)
    if distribution == "truncated_normal":
        sigma = std / TRUNCATED_STD
        return torch.nn.init.trunc_normal_(tensor, 0.0, sigma, -2 * sigma, 2 * sigma, generator=generator)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        return torch.nn.init.uniform_(tensor, -limit, limit, generator=generator)
    raise ConfigError("init.distribution", distribution, "one of normal, truncated_normal, uniform")
