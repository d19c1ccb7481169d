"""Crops of images resized back to the full image: random crops with scale and aspect while
training, and the ten fixed crops of AlexNet's test-time averaging.

A crop is a rectangle covering the fractions ``h`` and ``w`` of the image's height and width,
centred at ``(cy, cx)`` in normalized coordinates (``-1`` the top or left edge, ``+1`` the
bottom or right one); :func:`resized_crop_by` reads it back at the full ``H x W`` by bilinear
interpolation (one ``F.affine_grid`` and one ``F.grid_sample`` per batch), so a crop keeps the
batch's shape and a model sees images of one size while training and testing.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import AfterValidator, Field

from trainwell.data._batched import check_dims, uniform

__all__ = ["resized_crop", "resized_crop_by", "ten_crop_views", "check_crop_size"]


def _range(value: list[float]) -> list[float]:
    if value[0] > value[1]:
        raise ValueError("a range [low, high] with low <= high")
    return value


Scale = Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=2, max_length=2),
                  AfterValidator(_range)]
Ratio = Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=2, max_length=2),
                  AfterValidator(_range)]


def resized_crop(x: torch.Tensor, generator: torch.Generator | None = None, *,
                 scale: Scale = [0.35, 1.0], ratio: Ratio = [0.75, 4 / 3]  # noqa: B006
                 ) -> torch.Tensor:
    """Crop a random rectangle of each image, of random area and aspect, and resize it to
    ``H x W``.

    Area fraction :math:`s_n \\sim U(\\mathrm{scale})`, aspect :math:`r_n` log-uniform in
    ``ratio`` (width over height, relative to the image's); the crop covers
    :math:`w_n = \\sqrt{s_n r_n}` of the width and :math:`h_n = \\sqrt{s_n / r_n}` of the
    height (each at most 1), and its place is uniform where it fits.

    **Note:** torchvision's ``RandomResizedCrop`` (default ``scale = (0.08, 1)``) redraws a
    crop that does not fit up to ten times and then falls back to a centre crop; here a side
    longer than the image is cut to the image, so every draw is used once. The default
    smallest area, 0.35, suits small images (a 28 x 28 digit keeps a 17-pixel square).

    Reference: Szegedy et al., "Going Deeper with Convolutions", 2015 (crops of 8-100 % of the
    area, aspect 3/4-4/3); the lecture's "random crops and scales" (ResNet: a 224 crop of the
    image rescaled to a shorter side of 256-480, He et al. 2016).

    >>> x = torch.randn(4, 3, 8, 8)
    >>> torch.allclose(resized_crop(x, scale=[1.0, 1.0], ratio=[1.0, 1.0]), x, atol=1e-5)
    True
    """
    check_dims(x, 4, "resized_crop")
    u = uniform((4, len(x)), generator, x.device)
    area = scale[0] + (scale[1] - scale[0]) * u[0]
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * u[1])
    w = (area * aspect).sqrt().clamp(max=1.0)
    h = (area / aspect).sqrt().clamp(max=1.0)
    cy = (1 - h) * (2 * u[2] - 1)
    cx = (1 - w) * (2 * u[3] - 1)
    return resized_crop_by(x, cy, cx, h, w)


def resized_crop_by(x: torch.Tensor, cy: torch.Tensor | float, cx: torch.Tensor | float,
                    h: torch.Tensor | float, w: torch.Tensor | float) -> torch.Tensor:
    """Crop image ``n`` to the fractions ``h[n] x w[n]`` of its sides centred at
    ``(cy[n], cx[n])`` (normalized, ``-1..1``), resized back to ``H x W`` bilinearly.

    Output pixel :math:`(u, v)` (normalized) reads the input at :math:`(c_y + h\\,u,\\;
    c_x + w\\,v)`; a crop of the whole image (``h = w = 1``, centre 0) returns the image.

    >>> x = torch.arange(16.0).view(1, 1, 4, 4)
    >>> resized_crop_by(x, -0.5, -0.5, 0.5, 0.5)  # the top-left 2 x 2, enlarged
    tensor([[[[0.0000, 0.2500, 0.7500, 1.2500],
              [1.0000, 1.2500, 1.7500, 2.2500],
              [3.0000, 3.2500, 3.7500, 4.2500],
              [5.0000, 5.2500, 5.7500, 6.2500]]]])
    """
    check_dims(x, 4, "resized_crop_by")
    n, c, hh, ww = x.shape
    if n == 0:
        return x.clone()  # F.affine_grid refuses an empty batch

    def column(v: torch.Tensor | float) -> torch.Tensor:
        return torch.as_tensor(v, dtype=x.dtype, device=x.device).expand(n)

    cy, cx, h, w = column(cy), column(cx), column(h), column(w)
    zero = torch.zeros_like(cx)
    theta = torch.stack([w, zero, cx, zero, h, cy], 1).view(n, 2, 3)
    grid = F.affine_grid(theta, [n, c, hh, ww], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def ten_crop_views(x: torch.Tensor, size: float, *, flip: bool = True) -> list[torch.Tensor]:
    """The centre crop and the four corner crops of each image, covering ``size`` of each side
    and resized to ``H x W``, then (``flip=True``) the mirror of each: 10 views (5 without).

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", 2012: the softmax averaged over the four corner and the
    centre 224 x 224 patches of a 256 x 256 image and their reflections.

    >>> views = ten_crop_views(torch.randn(2, 3, 8, 8), 0.75)
    >>> len(views), views[0].shape
    (10, torch.Size([2, 3, 8, 8]))
    """
    check_dims(x, 4, "ten_crop_views")
    check_crop_size(size)
    edge = 1.0 - size
    centres = [(0.0, 0.0), (-edge, -edge), (-edge, edge), (edge, -edge), (edge, edge)]
    views = [resized_crop_by(x, cy, cx, size, size) for cy, cx in centres]
    return views + [v.flip(-1) for v in views] if flip else views


def check_crop_size(size: float) -> None:
    """Raise a ValueError unless ``size`` is a fraction of each side in ``(0, 1]``.

    >>> check_crop_size(1.5)
    Traceback (most recent call last):
    ...
    ValueError: a crop covers a fraction of each side in (0, 1]; got 1.5
    """
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size <= 1:
        raise ValueError(f"a crop covers a fraction of each side in (0, 1]; got {size!r}")
