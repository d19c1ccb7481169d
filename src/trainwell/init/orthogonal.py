"""Orthogonal initialization: a random (semi-)orthogonal weight, scaled by the activation's gain
(:func:`orthogonal_`) or to He's variance (:func:`orthogonal_msra_`).

An orthogonal ``W`` preserves the norm of every vector it maps, so a deep linear net
neither explodes nor vanishes at initialization, whatever its depth (Saxe et al., 2013).
"""

from __future__ import annotations

import math

import torch

from trainwell.init.gain import NegativeSlope, Nonlinearity, _scheme_gain
from trainwell.init.variance import fans

__all__ = ["orthogonal_", "orthogonal_msra_"]


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


def orthogonal_msra_(tensor: torch.Tensor, *, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Fill ``tensor`` with a random semi-orthogonal matrix scaled to He's variance
    ``2 / fan_in``, in place: Mishkin & Matas' "OrthoNorm-MSRA scaled".

    A semi-orthogonal ``Q`` of shape ``(out, fan_in)`` has entries of mean square
    ``1 / max(out, fan_in)``; ``W = sqrt(2 max(out, fan_in) / fan_in) · Q`` has mean square
    ``2 / fan_in``, the variance of Caffe's "msra" filler (:func:`~trainwell.init.lecture_he_`),
    whatever the activation. For the usual wide weight (``out <= fan_in``) this is ``sqrt(2)
    · Q``: orthonormal rows of norm ``sqrt(2)``.

    Reference: D. Mishkin, J. Matas, "All you need is a good init", 2016 (the row
    "OrthoNorm-MSRA scaled" of their CIFAR-10 table); K. He, X. Zhang, S. Ren, J. Sun,
    "Delving Deep into Rectifiers", 2015.

    >>> w = orthogonal_msra_(torch.empty(3, 8), generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(w @ w.T, 2 * torch.eye(3), atol=1e-5)
    True
    """
    if tensor.dim() < 2:
        shape = tuple(tensor.shape)
        raise ValueError(f"orthogonal_msra_ needs a weight with at least 2 dimensions, got shape "
                         f"{shape}")
    if tensor.numel() == 0:
        return tensor
    torch.nn.init.orthogonal_(tensor, 1.0, generator=generator)
    fan_in = fans(tensor)[0]
    with torch.no_grad():
        return tensor.mul_(math.sqrt(2.0 * max(tensor.shape[0], fan_in) / fan_in))
