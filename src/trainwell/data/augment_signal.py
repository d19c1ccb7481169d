"""Random 1-D signal transforms on a whole batch ``(N, C, L)``, modelled on MNIST-1D's generator.

MNIST-1D makes each sample from a digit template by: zero padding and interpolation (a time
stretch), an amplitude scale, a circular shift, noise, a shear, and interpolation to 40
points (Greydanus & Kobak, "Scaling Down Deep Learning with MNIST-1D", 2020). The transforms
here apply the same kinds of change to finished samples, so a network sees more of the
variation the dataset was built from. Same contract as :mod:`trainwell.data.augment_image`:
``name(x, generator, **options) -> x``, per-sample parameters, no Python loop.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field

from trainwell.data._batched import check_dims, constant, randint, source_index, uniform

__all__ = ["shift", "shift_by", "stretch", "stretch_by", "shear"]


def shift(x: torch.Tensor, generator: torch.Generator | None = None, *,
          max_shift: Annotated[int, Field(ge=0)] = 8, circular: bool = True) -> torch.Tensor:
    """Shift each signal along time by a random whole number of steps, ``-max_shift..max_shift``.

    :math:`x'_{n,c,i} = x_{n,c,\\,i-k_n}` with :math:`k_n` uniform; indices wrap around when
    ``circular`` (a roll, as MNIST-1D's generator does), else what enters is zero. One
    ``gather`` (:func:`shift_by`).

    **Note:** MNIST-1D shifts its 72-point intermediate signal by up to 47 steps, i.e. by
    anything; here the shift is small, on the final 40 points.

    >>> x = torch.arange(5.0).view(1, 1, 5)
    >>> shift(x, torch.Generator().manual_seed(0), max_shift=0).equal(x)
    True
    """
    check_dims(x, 3, "shift")
    k = randint(-max_shift, max_shift + 1, (len(x),), generator, x.device)
    return shift_by(x, k, circular=circular)


def shift_by(x: torch.Tensor, k: torch.Tensor | int, *, circular: bool = True) -> torch.Tensor:
    """Shift signal ``n`` right by ``k[n]`` steps (an int or an ``(N,)`` tensor).

    :math:`x'_{n,c,i} = x_{n,c,\\,(i-k_n) \\bmod L}` when ``circular`` (``torch.roll`` per
    sample), else :math:`x_{n,c,i-k_n}` inside and zero outside.

    >>> x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> shift_by(x, 1), shift_by(x, -1, circular=False)
    (tensor([[[4., 1., 2., 3.]]]), tensor([[[2., 3., 4., 0.]]]))
    """
    check_dims(x, 3, "shift_by")
    n, c, length = x.shape
    k = torch.as_tensor(k, device=x.device).expand(n)
    positions = constant(torch.arange, length, device=x.device)
    index, inside = source_index(positions - k[:, None], length,
                                 "circular" if circular else "zeros")
    out = x.gather(2, index[:, None, :].expand(n, c, length))
    if inside is not None:
        out.masked_fill_(~inside[:, None, :], 0)
    return out


def stretch(x: torch.Tensor, generator: torch.Generator | None = None, *,
            scale: Annotated[float, Field(ge=0, lt=2)] = 0.2) -> torch.Tensor:
    """Stretch or squeeze each signal in time about its centre by a random factor.

    Factor :math:`f_n = 1 + \\mathrm{scale}\\,(u_n - 0.5)`, :math:`u_n \\sim U[0, 1)`;
    :math:`x'_{n,c}(t) = x_{n,c}(m + (t - m) / f_n)` with :math:`m = (L-1)/2`, read by linear
    interpolation and zero beyond the ends: one ``F.grid_sample`` on a height-1 grid
    (:func:`stretch_by`).

    **Note:** MNIST-1D stretches in time by padding each template with 36-60 zeros before
    interpolating, and separately scales the amplitude by :math:`1 + 0.4\\,(u - 0.5)`; this
    transform takes that factor's form for the time axis.

    >>> x = torch.randn(3, 2, 40)
    >>> torch.allclose(stretch(x, scale=0.0), x, atol=1e-5)
    True
    """
    check_dims(x, 3, "stretch")
    return stretch_by(x, uniform((len(x),), generator, x.device, 1 - scale / 2, 1 + scale / 2,
                                 x.dtype))


def stretch_by(x: torch.Tensor, factor: torch.Tensor | float) -> torch.Tensor:
    """Stretch signal ``n`` in time about its centre by ``factor[n]`` (> 1 lengthens).

    :math:`x'_{n,c}(t) = x_{n,c}(m + (t - m) / f_n)`, :math:`m = (L-1)/2`, linear
    interpolation, zero beyond the ends.

    >>> stretch_by(torch.tensor([[[0.0, 2.0, 4.0]]]), 2.0)
    tensor([[[1., 2., 3.]]])
    """
    check_dims(x, 3, "stretch_by")
    n, _, length = x.shape
    factor = torch.as_tensor(factor, dtype=x.dtype, device=x.device).expand(n)
    # The grid's y is 0 (the one row), so dividing the (x, 0) pairs by f_n scales x alone.
    grid = constant(_identity_grid, length, x.device, x.dtype) / factor.view(n, 1, 1, 1)
    out = F.grid_sample(x.unsqueeze(2), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=True)
    return out.squeeze(2)


def _identity_grid(length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The ``(1, 1, L, 2)`` sampling grid of points ``(x_i, 0)``, ``x_i`` from -1 to 1."""
    line = torch.linspace(-1, 1, length, device=device, dtype=dtype)
    return torch.stack([line, torch.zeros_like(line)], -1).view(1, 1, length, 2)


def shear(x: torch.Tensor, generator: torch.Generator | None = None, *,
          scale: Annotated[float, Field(ge=0)] = 0.75) -> torch.Tensor:
    """Add a random linear ramp to each signal, the same in every channel.

    :math:`x'_{n,c,i} = x_{n,c,i} - a_n\\,r_i` with :math:`a_n = \\mathrm{scale}\\,(u_n - 0.5)`
    and :math:`r` = ``linspace(-0.5, 0.5, L)``: MNIST-1D's ``shear`` exactly, with its
    default scale 0.75.

    **Note:** MNIST-1D shears whitened templates and standardizes the finished dataset; on
    trainwell's standardized mnist1d the same scale is in units of about one standard
    deviation, close to but not exactly MNIST-1D's.

    >>> shear(torch.zeros(1, 1, 3), torch.Generator().manual_seed(0), scale=0.0)
    tensor([[[0., 0., 0.]]])
    """
    check_dims(x, 3, "shear")
    slope = uniform((len(x), 1, 1), generator, x.device, -scale / 2, scale / 2, x.dtype)
    ramp = constant(torch.linspace, -0.5, 0.5, x.shape[-1], dtype=x.dtype, device=x.device)
    return torch.addcmul(x, slope, ramp, value=-1)
