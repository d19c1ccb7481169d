"""Random image transforms on a whole batch ``(N, C, H, W)``: a few tensor ops, no Python loop.

Each transform is ``name(x, generator, **options) -> x``: it draws its parameters per sample
from ``generator`` (see :mod:`trainwell.data._batched` for devices), leaves ``x`` unchanged and
returns a new batch of the same shape, dtype and device. Where a random transform has a
deterministic core (``translate_by``), test-time augmentation reuses it.

Options are checked where a recipe names them (:func:`trainwell.data.augment.check_transforms`);
a direct call trusts them.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field

from trainwell.data._batched import (
    Padding,
    check_dims,
    constant,
    randint,
    source_index,
    uniform,
)

__all__ = ["hflip", "translate", "translate_by", "affine", "affine_by", "cutout", "jitter"]

_GRID_PADDING = {"zeros": "zeros", "border": "border", "reflect": "reflection"}


def hflip(x: torch.Tensor, generator: torch.Generator | None = None, *,
          p: Annotated[float, Field(ge=0, le=1)] = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``, independently per sample.

    :math:`x'_n = x_n[\\ldots, W-1-j]` if :math:`u_n < p`, else :math:`x_n`, with
    :math:`u_n \\sim U[0, 1)`.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", 2012 (horizontal reflections); batched as in Keller
    Jordan's airbench (``CifarLoader``, 2024).

    >>> x = torch.arange(3.0).view(1, 1, 1, 3)
    >>> hflip(x, torch.Generator().manual_seed(0), p=1.0)
    tensor([[[[2., 1., 0.]]]])
    """
    check_dims(x, 4, "hflip")
    flip = uniform((len(x),), generator, x.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def translate(x: torch.Tensor, generator: torch.Generator | None = None, *,
              pixels: Annotated[int, Field(ge=0)] = 2, padding: Padding = "reflect"
              ) -> torch.Tensor:
    """Shift each image by a random whole number of pixels, ``-pixels..pixels`` on each axis.

    Equivalent to padding by ``pixels`` on every side and cropping back to ``H x W`` at a
    random offset (:math:`(2p+1)^2` equally likely positions), done as one ``gather``
    (:func:`translate_by`); ``padding`` fills what comes in from outside.

    Reference: the pad-and-crop of Krizhevsky et al. 2012 and of ResNet's CIFAR recipe
    (He et al., "Deep Residual Learning for Image Recognition", 2016: 4 pixels); batched as
    in airbench (Jordan 2024), which uses reflect padding of 2 pixels.

    >>> x = torch.arange(16.0).view(1, 1, 4, 4)
    >>> translate(x, torch.Generator().manual_seed(0), pixels=0).equal(x)
    True
    """
    check_dims(x, 4, "translate")
    dy, dx = randint(-pixels, pixels + 1, (2, len(x)), generator, x.device)
    return translate_by(x, dy, dx, padding=padding)


def translate_by(x: torch.Tensor, dy: torch.Tensor | int, dx: torch.Tensor | int, *,
                 padding: Padding = "reflect") -> torch.Tensor:
    """Move image ``n`` down by ``dy[n]`` and right by ``dx[n]`` pixels (ints or ``(N,)``).

    :math:`x'_{n,c,i,j} = x_{n,c,\\,i-dy_n,\\,j-dx_n}`, positions outside the image filled
    by ``padding`` (see :func:`~trainwell.data._batched.source_index`).

    >>> x = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    >>> translate_by(x, 0, 1, padding="zeros"), translate_by(x, 0, 1)
    (tensor([[[[0., 1., 2.]]]]), tensor([[[[2., 1., 2.]]]]))
    """
    check_dims(x, 4, "translate_by")
    n, c, h, w = x.shape
    dy = torch.as_tensor(dy, device=x.device).expand(n)
    dx = torch.as_tensor(dx, device=x.device).expand(n)
    rows, rows_in = source_index(constant(torch.arange, h, device=x.device) - dy[:, None], h,
                                 padding)
    cols, cols_in = source_index(constant(torch.arange, w, device=x.device) - dx[:, None], w,
                                 padding)
    index = (rows[:, :, None] * w + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    out = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    if rows_in is not None and cols_in is not None:
        inside = rows_in[:, None, :, None] & cols_in[:, None, None, :]
        out.masked_fill_(~inside, 0)
    return out


def affine(x: torch.Tensor, generator: torch.Generator | None = None, *,
           degrees: Annotated[float, Field(ge=0, le=180)] = 10.0,
           scale: Annotated[float, Field(ge=0, lt=1)] = 0.1,
           padding: Padding = "border") -> torch.Tensor:
    """Rotate each image by a random angle and zoom it by a random factor about its centre.

    Angle :math:`\\alpha_n \\sim U(-\\mathrm{degrees}, \\mathrm{degrees})`, zoom
    :math:`s_n \\sim U(1 - \\mathrm{scale}, 1 + \\mathrm{scale})` (:math:`s > 1` enlarges).
    Output pixel :math:`p` (centred, in pixels) reads the input at :math:`R(\\alpha_n)\\,p /
    s_n` by bilinear interpolation: one ``F.affine_grid`` and one ``F.grid_sample`` per batch,
    with per-sample matrices (:func:`affine_by`).

    **Note:** ``padding`` defaults to ``"border"``: on standardized data a zero is the mean
    grey, not the background, so zero-filled corners would be a visible artefact.

    Reference: small rotations and scalings as in Simard, Steinkraus & Platt, "Best Practices
    for Convolutional Neural Networks Applied to Visual Document Analysis", 2003.

    >>> x = torch.randn(2, 1, 5, 5)
    >>> torch.allclose(affine(x, degrees=0.0, scale=0.0), x, atol=1e-5)
    True
    """
    check_dims(x, 4, "affine")
    angle = uniform((len(x),), generator, x.device, -degrees, degrees)
    zoom = uniform((len(x),), generator, x.device, 1 - scale, 1 + scale)
    return affine_by(x, angle, zoom, padding=padding)


def affine_by(x: torch.Tensor, degrees: torch.Tensor | float, zoom: torch.Tensor | float, *,
              padding: Padding = "border") -> torch.Tensor:
    """Rotate image ``n`` by ``degrees[n]`` and zoom it by ``zoom[n]`` about its centre.

    Positive angles turn the content counter-clockwise as displayed (rows downwards), like
    ``torch.rot90``; ``zoom > 1`` enlarges. Output pixel :math:`p` (centred, in pixels) reads
    the input at :math:`R(\\alpha_n)\\,p / s_n`, bilinearly.

    >>> x = torch.arange(4.0).view(1, 1, 2, 2)
    >>> affine_by(x, 90.0, 1.0).round().equal(torch.rot90(x, 1, (-2, -1)))
    True
    """
    check_dims(x, 4, "affine_by")
    n, c, h, w = x.shape
    angle = torch.as_tensor(degrees, dtype=torch.float32, device=x.device).expand(n).deg2rad()
    zoom = torch.as_tensor(zoom, dtype=torch.float32, device=x.device).expand(n)
    cos, sin = angle.cos() / zoom, angle.sin() / zoom
    zero = torch.zeros_like(cos)
    # Normalized coordinates scale x by 2/W and y by 2/H: the rotation needs the aspect ratio.
    theta = torch.stack([cos, -sin * (h / w), zero, sin * (w / h), cos, zero], 1).view(n, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), [n, c, h, w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=_GRID_PADDING[padding],
                         align_corners=False)


def cutout(x: torch.Tensor, generator: torch.Generator | None = None, *,
           size: Annotated[int, Field(ge=0)] = 4) -> torch.Tensor:
    """Zero a ``size x size`` square at a random place in each image, in every channel.

    The square's top-left corner is uniform over the ``(H - size + 1) x (W - size + 1)``
    places where it fits, so exactly ``size**2`` pixels per channel are zeroed. One broadcast
    mask ``rows_n x cols_n`` and one ``masked_fill``.

    **Note:** DeVries & Taylor centre the square anywhere in the image and clip it at the
    border, so their squares are sometimes smaller; ours always fit (as airbench's). On
    standardized data zero is the mean value.

    Reference: DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks with
    Cutout", 2017.

    >>> out = cutout(torch.ones(3, 2, 6, 6), torch.Generator().manual_seed(0), size=2)
    >>> (out == 0).sum(dim=(1, 2, 3)).tolist()  # 2 x 2 pixels in each of 2 channels
    [8, 8, 8]
    """
    check_dims(x, 4, "cutout")
    n, _, h, w = x.shape
    if h == w:
        top, left = randint(0, h - size + 1, (2, n), generator, x.device)
    else:
        top = randint(0, h - size + 1, (n,), generator, x.device)
        left = randint(0, w - size + 1, (n,), generator, x.device)
    rows = constant(torch.arange, h, device=x.device) - top[:, None]
    cols = constant(torch.arange, w, device=x.device) - left[:, None]
    in_rows, in_cols = (rows >= 0) & (rows < size), (cols >= 0) & (cols < size)
    return x.masked_fill(in_rows[:, None, :, None] & in_cols[:, None, None, :], 0)


def jitter(x: torch.Tensor, generator: torch.Generator | None = None, *,
           brightness: Annotated[float, Field(ge=0)] = 0.2,
           contrast: Annotated[float, Field(ge=0, le=1)] = 0.2) -> torch.Tensor:
    """Change each image's contrast and brightness by random amounts.

    :math:`x'_n = \\bar x_n + c_n (x_n - \\bar x_n) + b_n` with :math:`\\bar x_n` the image's
    mean over channels and pixels, :math:`c_n \\sim U(1 - \\mathrm{contrast}, 1 +
    \\mathrm{contrast})`, :math:`b_n \\sim U(-\\mathrm{brightness}, \\mathrm{brightness})`.

    **Note:** torchvision's ``ColorJitter`` scales brightness by a factor; on standardized
    data a factor is one more contrast change about zero, so brightness here is an offset in
    the data's units (one standard deviation for standardized data).

    Reference: the photometric distortions of Howard, "Some Improvements on Deep Convolutional
    Neural Network Based Image Classification", 2013.

    >>> x = torch.randn(4, 3, 5, 5)
    >>> torch.allclose(jitter(x, brightness=0.0, contrast=0.0), x, atol=1e-6)
    True
    """
    check_dims(x, 4, "jitter")
    n = len(x)
    gain = uniform((n, 1, 1, 1), generator, x.device, 1 - contrast, 1 + contrast, x.dtype)
    offset = uniform((n, 1, 1, 1), generator, x.device, -brightness, brightness, x.dtype)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return torch.addcmul(mean + offset, x - mean, gain)
