"""Orthogonal initialization: a random (semi-)orthogonal weight, scaled by the activation's gain.

An orthogonal ``W`` preserves the norm of every vector it maps, so a deep linear net
neither explodes nor vanishes at initialization, whatever its depth (Saxe et al., 2013).
"""

from __future__ import annotations

import torch

from trainwell.init.gain import NegativeSlope, Nonlinearity, _scheme_gain

__all__ = ["orthogonal_"]


def orthogonal_(
    tensor: torch.Tensor,
    *,
    nonlinearity: Nonlinearity | None = None,
    negative_slope: NegativeSlope | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with a random semi-orthogonal matrix times the activation's gain, in place.

    The weight is seen as a matrix ``W`` of shape ``(out, in · prod(kernel))``; with
    ``Q`` from the QR decomposition of a Gaussian matrix (signs fixed so that ``Q`` is
    uniform over the orthogonal group), ``W = gain · Q``, so that ``W Wᵀ = gain² I`` when
    ``W`` is wide (``out ≤ in · prod(kernel)``) and ``Wᵀ W = gain² I`` when it is tall.
    ``gain`` is :func:`~trainwell.init.gain.gain` of ``nonlinearity`` (``negative_slope``
    for leaky_relu); ``None`` means the model's activation under
    :func:`~trainwell.init.apply_` and relu (slope 0.01) on a bare tensor. Wraps
    ``torch.nn.init.orthogonal_``.

    **Note**: Saxe et al. analyse deep *linear* nets, where the gain is 1; pass
    ``nonlinearity="linear"`` for their scheme exactly.

    Reference: A. Saxe, J. McClelland, S. Ganguli, "Exact solutions to the nonlinear
    dynamics of learning in deep linear neural networks", 2013; F. Mezzadri, "How to
    generate random matrices from the classical compact groups", 2007.

    >>> w = orthogonal_(torch.empty(3, 5), nonlinearity="linear")
    >>> torch.allclose(w @ w.T, torch.eye(3), atol=1e-5)
    True
    """
    if tensor.dim() < 2:
        shape = tuple(tensor.shape)
        raise ValueError(f"orthogonal_ needs a weight with at least 2 dimensions, got shape {shape}")
    if tensor.numel() == 0:
        return tensor
    return torch.nn.init.orthogonal_(tensor, _scheme_gain(nonlinearity, negative_slope), generator=generator)
