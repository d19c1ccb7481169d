"""Fractional max pooling (Graham 2014) for 1-D signals and 2-D images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

__all__ = ["FractionalMaxPool", "GlobalPool", "PoolRatio", "SQRT_HALF", "fractional_size"]

PoolRatio = Annotated[float, Field(gt=0, lt=1)]
"""Recipe option type of a fractional pooling ratio: output size / input size, in (0, 1)."""
SQRT_HALF = math.sqrt(0.5)
"""The default pooling ratio ``1/√2``: two poolings halve a size, as one max pooling by 2 does."""


def fractional_size(size: int, ratio: float) -> int:
    """The output length of fractional pooling by ``ratio`` with 2-wide windows: about
    ``size * ratio``, at least 1 and at most ``size - 1`` (a window must fit).

    >>> [fractional_size(n, 2 ** -0.5) for n in (40, 28, 3, 2)]
    [28, 19, 2, 1]
    """
    return max(1, min(size - 1, int(size * ratio)))


class FractionalMaxPool(nn.Module):
    """Max pooling that shrinks each spatial size by a non-integer ``ratio`` (Graham,
    "Fractional Max-Pooling", 2014), through torch's ``FractionalMaxPool2d``; a 1-D signal
    ``(N, C, L)`` passes through it with height 1.

    Output ``i`` of a size ``n`` pooled to ``m`` is the maximum over the window
    :math:`[a_i, a_i + 2)` with :math:`a_i = \\lfloor (i + u)\\,\alpha \rfloor - \\lfloor u\\,\alpha \rfloor`,
    :math:`\alpha = (n - 2) / (m - 1)`, :math:`u \\sim U(0, 1)` and the last window ending at
    ``n``: the starts step by 1 or 2, pseudo-randomly, so the windows overlap (the paper's
    overlapping, pseudo-random variant).

    **Note:** torch draws ``u`` per sample and channel, anew at every forward pass, in eval
    mode too, from the global random generator (seeded per run, so runs stay reproducible).
    Averaging predictions over several passes (test-time augmentation) averages over window
    draws, as the paper's "model averaging" by repeated testing does.

    >>> pool = FractionalMaxPool([40], ratio=0.7)
    >>> pool(torch.randn(2, 3, 40)).shape, pool.output_size
    (torch.Size([2, 3, 28]), [28])
    """

    def __init__(self, sizes: Sequence[int], *, ratio: float) -> None:
        super().__init__()
        self.output_size = [fractional_size(s, ratio) for s in sizes]
        self.flat = len(sizes) == 1
        if self.flat:
            self.pool = nn.FractionalMaxPool2d((1, 2), output_size=(1, self.output_size[0]))
        else:
            height, width = self.output_size
            self.pool = nn.FractionalMaxPool2d(2, output_size=(height, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flat:
            return self.pool(x.unsqueeze(2)).squeeze(2)
        return self.pool(x)


class GlobalPool(nn.Module):
    """Pool every position of ``(N, C, ...)`` into ``(N, C)`` features: their mean (``"avg"``),
    their maximum (``"max"``) or both side by side (``"avgmax"``, ``(N, 2C)``).

    >>> GlobalPool("avgmax")(torch.tensor([[[1.0, 3.0]]]))
    tensor([[2., 3.]])
    """

    def __init__(self, kind: str = "avg") -> None:
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(start_dim=2)
        if self.kind == "avg":
            return flat.mean(-1)
        if self.kind == "max":
            return flat.amax(-1)
        return torch.cat([flat.mean(-1), flat.amax(-1)], 1)

    def extra_repr(self) -> str:
        return repr(self.kind)
