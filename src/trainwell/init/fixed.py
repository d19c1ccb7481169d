"""Schemes whose scale ignores the layer's size: zeros, a constant, and the naive random draws.

These are the "stupid ways" of the lecture: all zeros, one value everywhere, ``U(-1, 1)``,
and CS231n's "small random numbers" ``0.01 · N(0, 1)``. They exist to be compared with the
fan-scaled schemes and to show why those were needed.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field

from trainwell.errors import ConfigError

__all__ = ["zeros_", "constant_", "uniform_", "normal_"]


def zeros_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with zeros, in place.

    ``W = 0``. Every unit of a layer then computes the same output and receives the same
    gradient, so the units stay identical however long the net trains: each layer acts as
    one unit. With sigmoid (``f(0) = 1/2``) the weights do move, all units of a layer alike;
    with relu or tanh (``f(0) = 0``) every hidden output is 0, so no weight gets a gradient
    and only the output layer's bias learns. ``generator`` is accepted so that every scheme
    has one signature.

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", Deep Learning
    for Everyone, 2017 ("Set all initial weights to 0").

    >>> zeros_(torch.empty(2, 3)).abs().sum().item()
    0.0
    """
    return torch.nn.init.zeros_(tensor)


def constant_(
    tensor: torch.Tensor,
    *,
    value: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with one ``value``, in place.

    ``W = value``. Like zeros, all units of a layer stay identical (the symmetry is never
    broken), but the gradient flows.

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", 2017.

    >>> constant_(torch.empty(2, 2), value=0.5).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    return torch.nn.init.constant_(tensor, value)


def uniform_(
    tensor: torch.Tensor,
    *,
    a: float = -1.0,
    b: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with draws from ``U(a, b)``, in place; by default the lecture's ``U(-1, 1)``.

    ``W ~ U(a, b)``, variance ``(b - a)² / 12`` whatever the layer's size: with ``U(-1, 1)``
    a layer of 256 inputs multiplies the variance of its input by ``256 / 3``.

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", 2017 ("random
    values, usually between -1 and 1").

    >>> w = uniform_(torch.empty(100, 100))
    >>> bool(w.min() >= -1 and w.max() <= 1)
    True
    """
    if not a < b:
        raise ConfigError("init.b", b, f"a number greater than init.a = {a!r}")
    return torch.nn.init.uniform_(tensor, a, b, generator=generator)


def normal_(
    tensor: torch.Tensor,
    *,
    mean: float = 0.0,
    std: Annotated[float, Field(gt=0)] = 0.01,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with draws from ``N(mean, std²)``, in place; by default CS231n's small random numbers.

    ``W = 0.01 · N(0, 1)``. Fine for a shallow net; in a deep tanh net the activations
    shrink layer by layer towards zero, and so do the gradients.

    Reference: A. Karpathy, J. Johnson, F.-F. Li, CS231n "Training Neural Networks",
    2016 ("Small random numbers: W = 0.01 * np.random.randn(D, H)").

    >>> w = normal_(torch.empty(200, 200), generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item(), 3)
    0.01
    """
    if not std > 0:
        raise ConfigError("init.std", std, "a number > 0")
    return torch.nn.init.normal_(tensor, mean, std, generator=generator)
