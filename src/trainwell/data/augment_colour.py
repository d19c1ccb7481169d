"""Random colour changes of RGB images ``(N, 3, H, W)``: brightness, contrast and saturation
(:func:`colour_jitter`), and AlexNet's PCA colour augmentation (:func:`fancy_pca`), whose
principal axes come once from the training set (:func:`colour_basis`).

Like the other batched transforms (:mod:`trainwell.data.augment_image`), each draws its
per-image parameters from the caller's generator and returns a new batch of the same shape.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import torch
from pydantic import Field

from trainwell.data._batched import check_dims, constant, normal, uniform

__all__ = ["colour_jitter", "fancy_pca", "colour_basis", "ColourBasis", "LUMA"]

LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights of R, G and B in the grey level (as PIL's ``convert("L")``)."""


class ColourBasis(NamedTuple):
    """The principal axes of a data set's RGB values: ``eigenvalues`` (3,), ascending, and the
    unit ``eigenvectors`` as the columns of a (3, 3) matrix."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor


def _check_rgb(x: torch.Tensor, name: str) -> None:
    check_dims(x, 4, name)
    if x.shape[1] != 3:
        raise ValueError(f"{name} works on RGB images (N, 3, H, W); got a batch shaped "
                         f"{tuple(x.shape)}")


def _grey(x: torch.Tensor) -> torch.Tensor:
    weights = constant(torch.tensor, LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def colour_jitter(x: torch.Tensor, generator: torch.Generator | None = None, *,
                  brightness: Annotated[float, Field(ge=0)] = 0.2,
                  contrast: Annotated[float, Field(ge=0, le=1)] = 0.2,
                  saturation: Annotated[float, Field(ge=0, le=1)] = 0.2) -> torch.Tensor:
    """Change each RGB image's brightness, contrast and saturation by random amounts, in that
    order.

    With :math:`g(x)` the grey image (:data:`LUMA` weights) and :math:`\\bar g` its mean:
    brightness :math:`x \\leftarrow x + b_n`, contrast :math:`x \\leftarrow \\bar g + c_n (x -
    \\bar g)`, saturation :math:`x \\leftarrow g(x) + s_n (x - g(x))`, with :math:`b_n \\sim
    U(\\pm\\mathrm{brightness})`, :math:`c_n \\sim U(1 \\pm \\mathrm{contrast})`, :math:`s_n
    \\sim U(1 \\pm \\mathrm{saturation})`; saturation 0 makes the image grey.

    **Note:** torchvision's ``ColorJitter`` scales brightness by a factor and applies the three
    in random order; here brightness is an offset in the data's units (as in
    :func:`~trainwell.data.augment_image.jitter`: on standardized data a factor would be one
    more contrast change) and the order is fixed.

    Reference: Howard, "Some Improvements on Deep Convolutional Neural Network Based Image
    Classification", 2013 (random brightness, contrast and colour).

    >>> x = torch.randn(4, 3, 5, 5)
    >>> out = colour_jitter(x, brightness=0.0, contrast=0.0, saturation=0.0)
    >>> torch.allclose(out, x, atol=1e-6)
    True
    """
    _check_rgb(x, "colour_jitter")
    n = len(x)
    u = uniform((3, n, 1, 1, 1), generator, x.device, -1.0, 1.0, x.dtype)
    x = x + brightness * u[0]
    mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
    x = torch.addcmul(mean, x - mean, 1 + contrast * u[1])
    grey = _grey(x)
    return torch.addcmul(grey, x - grey, 1 + saturation * u[2])


@torch.no_grad()
def colour_basis(x: torch.Tensor, *, chunk: int = 1024) -> ColourBasis:
    """The eigenvalues and eigenvectors of the covariance of the RGB values of all pixels of
    ``x`` ``(N, 3, H, W)``, accumulated in float64 on the CPU, ``chunk`` images at a time, and
    returned in float32 on ``x``'s device.

    >>> x = torch.zeros(2, 3, 4, 4)
    >>> x[:, 0] = torch.randn(2, 4, 4)  # all variance in the red channel
    >>> basis = colour_basis(x)
    >>> basis.eigenvectors[:, -1].abs().tolist()
    [1.0, 0.0, 0.0]
    """
    _check_rgb(x, "colour_basis")
    total = torch.zeros(3, dtype=torch.float64)
    outer = torch.zeros(3, 3, dtype=torch.float64)
    count = 0
    for i in range(0, len(x), chunk):
        pixels = torch.as_tensor(x[i:i + chunk]).to("cpu", torch.float64)
        pixels = pixels.permute(1, 0, 2, 3).reshape(3, -1)
        total += pixels.sum(1)
        outer += pixels @ pixels.T
        count += pixels.shape[1]
    if count < 2:
        raise ValueError("colour_basis needs at least two pixels")
    mean = total / count
    cov = (outer - count * torch.outer(mean, mean)) / (count - 1)
    values, vectors = torch.linalg.eigh(cov)
    return ColourBasis(values.clamp(min=0).float().to(x.device),
                       vectors.float().to(x.device))


def fancy_pca(x: torch.Tensor, generator: torch.Generator | None = None,
              basis: ColourBasis | None = None, *,
              std: Annotated[float, Field(ge=0)] = 0.1) -> torch.Tensor:
    """Add to every pixel of each RGB image one random mix of the data's principal colour
    axes ("fancy PCA").

    :math:`x'_n = x_n + \\sum_i \\alpha_{n,i} \\sqrt{\\lambda_i}\\, p_i` at every pixel, with
    :math:`p_i, \\lambda_i` the eigenvectors and eigenvalues of the RGB covariance
    (``basis``, from :func:`colour_basis` of the training set; of the batch itself when
    ``None``) and :math:`\\alpha_{n,i} \\sim N(0, \\mathrm{std}^2)` drawn once per image.
    The offsets have mean zero, so the mean colour is kept in expectation.

    **Note:** the paper writes :math:`\\alpha_i \\lambda_i`; its eigenvalue is a variance, so
    the offset would change with the square of the data's units (255 times more for pixels
    in 0-255 than in 0-1). :math:`\\sqrt{\\lambda_i}`, the standard deviation along each
    axis, keeps the offset in the data's units: ``std = 0.1`` moves a colour by a tenth of the
    data's spread along each axis, whatever the normalization.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", 2012, section 4.1 (:math:`\\alpha \\sim N(0, 0.1)`).

    >>> x = torch.randn(8, 3, 4, 4)
    >>> torch.equal(fancy_pca(x, std=0.0), x)
    True
    """
    _check_rgb(x, "fancy_pca")
    values, vectors = basis if basis is not None else colour_basis(x)
    alpha = normal((len(x), 3), generator, x.device, x.dtype)
    scale = values.to(x.device, x.dtype).sqrt() * std
    offset = (alpha * scale) @ vectors.to(x.device, x.dtype).T  # (N, 3)
    return x + offset[:, :, None, None]
