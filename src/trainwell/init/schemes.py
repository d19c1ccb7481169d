"""The named fan-scaled schemes: Glorot (Xavier), He, LeCun, the lecture's, prettytensor's and torch's.

Each is a thin wrapper over :func:`~trainwell.init.variance.variance_scaling_` (or, where
torch has the exact scheme, over ``torch.nn.init``). ``fan_in`` and ``fan_out`` are the
weight's, as :func:`~trainwell.init.variance.fans` computes them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field

from trainwell.init.gain import NegativeSlope, Nonlinearity, _scheme_gain
from trainwell.init.variance import fans, variance_scaling_

__all__ = [
    "lecture_xavier_", "lecture_he_", "glorot_uniform_", "glorot_normal_", "he_uniform_",
    "he_normal_", "lecun_uniform_", "lecun_normal_", "prettytensor_xavier_", "torch_default_",
]


def lecture_xavier_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, 1) / sqrt(fan_in)``, as the lecture writes Xavier, in place.

    ``W = np.random.randn(fan_in, fan_out) / np.sqrt(fan_in)``: ``std = 1 / sqrt(fan_in)``.

    **Note**: this is the simplified form from the lecture (and CS231n); Glorot & Bengio's
    own scheme averages both fans (:func:`glorot_uniform_`). It is the same law as
    :func:`lecun_normal_`.

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", 2017; X. Glorot,
    Y. Bengio, "Understanding the difficulty of training deep feedforward neural networks",
    2010.

    >>> w = lecture_xavier_(torch.empty(128, 256), generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 16, 1)  # sqrt(256)
    1.0
    """
    return variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="normal", generator=generator)


def lecture_he_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, 1) / sqrt(fan_in / 2)``, as the lecture writes He, in place.

    ``W = np.random.randn(fan_in, fan_out) / np.sqrt(fan_in / 2)``: ``std = sqrt(2 / fan_in)``,
    ReLU's gain whatever the model's activation (:func:`he_normal_` takes it from the model).

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", 2017; K. He, X.
    Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers: Surpassing Human-Level Performance
    on ImageNet Classification", 2015.

    >>> w = lecture_he_(torch.empty(128, 200), generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 10, 1)  # sqrt(200 / 2)
    1.0
    """
    return variance_scaling_(tensor, scale=2.0, mode="fan_in", distribution="normal", generator=generator)


def glorot_uniform_(
    tensor: torch.Tensor,
    *,
    gain: Annotated[float, Field(gt=0)] = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with Glorot's normalized initialization ``U(-limit, limit)``, in place.

    ``limit = gain · sqrt(6 / (fan_in + fan_out))``, variance ``gain² · 2 / (fan_in + fan_out)``:
    the compromise between keeping the forward variance (``1 / fan_in``) and the backward
    variance (``1 / fan_out``). Same as ``torch.nn.init.xavier_uniform_``.

    Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", 2010.

    >>> w = glorot_uniform_(torch.empty(30, 70))
    >>> bool(w.abs().max() <= (6 / 100) ** 0.5)
    True
    """
    return variance_scaling_(tensor, scale=gain**2, mode="fan_avg", distribution="uniform",
                             generator=generator)


def glorot_normal_(
    tensor: torch.Tensor,
    *,
    gain: Annotated[float, Field(gt=0)] = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, std²)``, ``std = gain · sqrt(2 / (fan_in + fan_out))``, in place.

    The normal law with the variance of :func:`glorot_uniform_`; same as
    ``torch.nn.init.xavier_normal_``.

    Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", 2010.

    >>> w = glorot_normal_(torch.empty(300, 100), generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 200 ** 0.5, 1)  # sqrt((300 + 100) / 2)
    1.0
    """
    return variance_scaling_(tensor, scale=gain**2, mode="fan_avg", distribution="normal",
                             generator=generator)


def he_uniform_(
    tensor: torch.Tensor,
    *,
    nonlinearity: Nonlinearity | None = None,
    negative_slope: NegativeSlope | None = None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with ``U(-limit, limit)``, ``limit = gain · sqrt(3 / fan)``, in place.

    ``fan`` is ``fan_in`` (keeps the forward variance) or ``fan_out`` (keeps the backward
    variance) by ``mode``; ``gain`` is :func:`~trainwell.init.gain.gain` of ``nonlinearity``
    with ``negative_slope`` for leaky_relu. ``None`` means the model's activation under
    :func:`~trainwell.init.apply_` and relu (slope 0.01) on a bare tensor.
    Same as ``torch.nn.init.kaiming_uniform_``.

    Reference: K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers: Surpassing
    Human-Level Performance on ImageNet Classification", 2015.

    >>> w = he_uniform_(torch.empty(64, 150), nonlinearity="relu")
    >>> bool(w.abs().max() <= (6 / 150) ** 0.5)
    True
    """
    scale = _scheme_gain(nonlinearity, negative_slope) ** 2
    return variance_scaling_(tensor, scale=scale, mode=mode, distribution="uniform", generator=generator)


def he_normal_(
    tensor: torch.Tensor,
    *,
    nonlinearity: Nonlinearity | None = None,
    negative_slope: NegativeSlope | None = None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, std²)``, ``std = gain / sqrt(fan)``, in place.

    ``fan``, ``gain``, ``nonlinearity`` and ``negative_slope`` as in :func:`he_uniform_`. For
    ReLU and ``mode="fan_in"``, ``std = sqrt(2 / fan_in)``: He et al.'s Eq. 10.
    Same as ``torch.nn.init.kaiming_normal_``.

    Reference: K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers: Surpassing
    Human-Level Performance on ImageNet Classification", 2015.

    >>> w = he_normal_(torch.empty(128, 200), nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 10, 1)  # sqrt(200 / 2)
    1.0
    """
    scale = _scheme_gain(nonlinearity, negative_slope) ** 2
    return variance_scaling_(tensor, scale=scale, mode=mode, distribution="normal", generator=generator)


def lecun_uniform_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with ``U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``, in place.

    Variance ``1 / fan_in``: a unit-variance input gives a unit-variance pre-activation,
    which LeCun et al. recommend with their scaled tanh ``1.7159 · tanh(2x / 3)``.

    Reference: Y. LeCun, L. Bottou, G. Orr, K.-R. Müller, "Efficient BackProp", 1998.

    >>> w = lecun_uniform_(torch.empty(10, 300))
    >>> bool(w.abs().max() <= 0.1)
    True
    """
    return variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="uniform", generator=generator)


def lecun_normal_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, 1 / fan_in)``, in place.

    ``std = 1 / sqrt(fan_in)``, the normal law of :func:`lecun_uniform_`; the initialization
    self-normalizing (SELU) networks require.

    **Note**: Keras's ``lecun_normal`` is truncated at two standard deviations; this one is
    not (``variance_scaling_(..., distribution="truncated_normal")`` gives Keras's).

    Reference: Y. LeCun, L. Bottou, G. Orr, K.-R. Müller, "Efficient BackProp", 1998.

    >>> w = lecun_normal_(torch.empty(200, 100), generator=torch.Generator().manual_seed(0))
    >>> round(w.std().item() * 10, 1)  # sqrt(100)
    1.0
    """
    return variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="normal", generator=generator)


def prettytensor_xavier_(
    tensor: torch.Tensor,
    *,
    uniform: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` as prettytensor's ``xavier_init`` does, in place: uniform or truncated normal.

    - ``uniform=True``: ``U(-r, r)``, ``r = sqrt(6 / (fan_in + fan_out))`` (Glorot's).
    - ``uniform=False``: ``N(0, σ²)`` truncated at ``±2σ``, ``σ = sqrt(3 / (fan_in + fan_out))``
      ("3 gives us approximately the same limits as above since this repicks values greater
      than 2 standard deviations from the mean").

    **Note**: as in TensorFlow's ``truncated_normal_initializer(stddev=σ)``, ``σ`` is the std
    of the normal before truncation; the values have std ``0.88 σ``, so the variance is
    ``2.32 / (fan_in + fan_out)`` instead of Glorot's ``2 / (fan_in + fan_out)``. Kept as
    written: this scheme is the lecture's code.

    Reference: Google, prettytensor ``layers.xavier_init`` (shown in Lecture 10-2, S. Kim,
    2017); X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
    neural networks", 2010.

    >>> w = prettytensor_xavier_(torch.empty(40, 35), uniform=False)
    >>> bool(w.abs().max() <= 2 * (3 / 75) ** 0.5)
    True
    """
    fan_in, fan_out = fans(tensor)
    if tensor.numel() == 0:
        return tensor
    if uniform:
        r = math.sqrt(6.0 / (fan_in + fan_out))
        return torch.nn.init.uniform_(tensor, -r, r, generator=generator)
    sigma = math.sqrt(3.0 / (fan_in + fan_out))
    return torch.nn.init.trunc_normal_(tensor, 0.0, sigma, -2 * sigma, 2 * sigma, generator=generator)


def torch_default_(tensor: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` as ``nn.Linear`` and ``nn.ConvNd`` ``reset_parameters()`` do, in place.

    ``W ~ U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))``, written by torch as
    ``kaiming_uniform_(W, a=sqrt(5))``: variance ``1 / (3 fan_in)``, a third of LeCun's.
    :func:`~trainwell.init.apply_` also draws the biases as torch does,
    ``U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))``, unless told a bias value.

    Reference: PyTorch ``torch.nn.Linear.reset_parameters`` (pytorch/pytorch issue 57109),
    inherited from Torch7; the scale follows Y. LeCun, L. Bottou, G. Orr, K.-R. Müller,
    "Efficient BackProp", 1998.

    >>> w = torch_default_(torch.empty(10, 400))
    >>> bool(w.abs().max() <= 0.05)
    True
    """
    fans(tensor)  # a weight of fewer than 2 dimensions has no fan: raise as the others do
    if tensor.numel() == 0:
        return tensor
    return torch.nn.init.kaiming_uniform_(tensor, a=math.sqrt(5), generator=generator)
