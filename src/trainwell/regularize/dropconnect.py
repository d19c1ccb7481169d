"""DropConnect: drop weights, not activations (Linear, Conv1d, Conv2d), and its inference.

While training, ``u = (M ⊙ W) v + b`` with a fresh ``M ~ Bernoulli(1 − p)`` of the weight's
shape per forward pass (per minibatch, or per sample with ``per_sample``), without rescaling;
the layer's output is ``r = a(u)``. At test time:

- ``inference="mean"``: the mean network ``u = (1 − p) · W v + b`` (as for dropout);
- ``inference="moment"`` (the paper's): ``u`` is approximated by a Gaussian with the mean and
  variance it has over masks, ``E = (1 − p) · W v + b`` and ``V = p (1 − p) · (W ⊙ W)(v ⊙ v)``
  (for a convolution: the convolution of the squared input with the squared kernel), and
  ``r = mean_s a(u_s)`` over ``samples`` draws ``u_s ~ N(E, V)``.

The moment form needs the activation ``a``, so it is done by :class:`DropConnectBlock`; a
DropConnect layer on its own returns ``E`` in eval mode with either setting.

Reference: L. Wan, M. Zeiler, S. Zhang, Y. LeCun, R. Fergus, "Regularization of Neural Networks
using DropConnect", ICML 2013.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from trainwell.errors import ConfigError
from trainwell.regularize._checks import check_choice, check_positive_int, check_probability
from trainwell.regularize._random import bernoulli_mask, normal_noise

__all__ = ["INFERENCES", "DropConnectLinear", "DropConnectConv1d", "DropConnectConv2d",
           "DropConnectBlock"]

Inference = Literal["mean", "moment"]
INFERENCES: tuple[Inference, ...] = ("mean", "moment")


class _DropConnect:
    """What the three layers share; each subclass says how to apply a weight (:meth:`_weighted`)."""

    weight: Any  # the parent layer's Parameter
    bias: Any  # a Parameter or None
    training: bool

    def _setup(self, p: float, per_sample: bool, inference: str, samples: int) -> None:
        self.p = check_probability("regularize.dropconnect.p", p)
        self.per_sample = bool(per_sample)
        self.inference = check_choice("regularize.dropconnect.inference", inference, INFERENCES)
        self.samples = check_positive_int("regularize.dropconnect.samples", samples)
        self.generator: torch.Generator | None = None

    def _weighted(self, x: torch.Tensor, weight: torch.Tensor,
               bias: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0:
            return self._weighted(x, self.weight, self.bias)
        if not self.training:
            return self._weighted(x, self.weight * (1 - self.p), self.bias)
        if self.per_sample and x.dim() > 1:
            return self._per_sample(x)
        mask = bernoulli_mask(self.weight.shape, 1 - self.p, like=self.weight,
                              generator=self.generator)
        return self._weighted(x, self.weight * mask, self.bias)

    def _per_sample(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of the pre-activation over masks: ``(E, V)`` above."""
        keep = 1 - self.p
        mean = self._weighted(x, self.weight * keep, self.bias)
        var = self._weighted(x * x, self.weight * self.weight, None) * (self.p * keep)
        return mean, var

    def extra_repr(self) -> str:
        base = super().extra_repr()  # type: ignore[misc]
        return (f"{base}, p={self.p}, per_sample={self.per_sample}, "
                f"inference={self.inference!r}, samples={self.samples}")


class DropConnectLinear(_DropConnect, nn.Linear):
    """An ``nn.Linear`` whose weights are dropped while training (DropConnect).

    Takes ``nn.Linear``'s arguments, plus keyword-only ``p`` (drop probability in ``[0, 1)``),
    ``per_sample`` (a different mask for every sample, through a batched matmul: ``N`` times
    the weight's memory), ``inference`` (``"mean"`` or ``"moment"``) and ``samples`` (Gaussian
    draws for ``"moment"``, used by :class:`DropConnectBlock`). ``generator`` is an attribute:
    set it to seed the masks.

    **Note**: the paper draws a mask per sample; ``per_sample=False`` (the default) shares one
    mask across the minibatch, which is much cheaper and is what most implementations do. The
    bias is never dropped, so the mean network is ``(1 − p) · W`` with the full bias.

    >>> layer = DropConnectLinear(3, 2, p=0.5).eval()
    >>> _ = nn.init.ones_(layer.weight), nn.init.zeros_(layer.bias)
    >>> layer(torch.ones(1, 3))  # the mean network: W · (1 − p)
    tensor([[1.5000, 1.5000]], grad_fn=<AddmmBackward0>)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *, p: float = 0.5,
                 per_sample: bool = False, inference: Inference = "mean",
                 samples: int = 32) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        self._setup(p, per_sample, inference, samples)

    def _weighted(self, x: torch.Tensor, weight: torch.Tensor,
               bias: torch.Tensor | None) -> torch.Tensor:
        return F.linear(x, weight, bias)

    def _per_sample(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        mask = bernoulli_mask((n, *self.weight.shape), 1 - self.p, like=self.weight,
                              generator=self.generator)
        rows = x.reshape(n, -1, self.in_features)  # (N, M, in), M = any middle dimensions
        out = torch.bmm(rows, (self.weight * mask).transpose(1, 2))  # (N, M, out)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


class _DropConnectConv(_DropConnect):
    _conv_forward: Any

    def _check_per_sample(self) -> None:
        if self.per_sample:
            raise ConfigError("regularize.dropconnect.per_sample", True,
                              "False for a convolution (per-sample masks are for Linear layers)")

    def _weighted(self, x: torch.Tensor, weight: torch.Tensor,
               bias: torch.Tensor | None) -> torch.Tensor:
        # _conv_forward handles stride, dilation, groups and non-zero padding modes; padding
        # commutes with squaring, so it also serves the variance of the moment inference.
        return self._conv_forward(x, weight, bias)


class DropConnectConv1d(_DropConnectConv, nn.Conv1d):
    """An ``nn.Conv1d`` whose kernel weights are dropped while training (DropConnect).

    Takes ``nn.Conv1d``'s arguments plus the keyword-only options of
    :class:`DropConnectLinear`; ``per_sample=True`` raises :class:`ConfigError`.

    >>> conv = DropConnectConv1d(1, 1, 3, p=0.25, padding=1).eval()
    >>> _ = nn.init.ones_(conv.weight), nn.init.zeros_(conv.bias)
    >>> conv(torch.ones(1, 1, 4)).squeeze()  # 0.75 · (2, 3, 3, 2)
    tensor([1.5000, 2.2500, 2.2500, 1.5000], grad_fn=<SqueezeBackward0>)
    """

    def __init__(self, *args: Any, p: float = 0.5, per_sample: bool = False,
                 inference: Inference = "mean", samples: int = 32, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup(p, per_sample, inference, samples)
        self._check_per_sample()


class DropConnectConv2d(_DropConnectConv, nn.Conv2d):
    """An ``nn.Conv2d`` whose kernel weights are dropped while training (DropConnect).

    Takes ``nn.Conv2d``'s arguments plus the keyword-only options of
    :class:`DropConnectLinear`; ``per_sample=True`` raises :class:`ConfigError`.

    >>> conv = DropConnectConv2d(3, 8, 3, p=0.5, padding=1)
    >>> conv(torch.randn(2, 3, 5, 5)).shape
    torch.Size([2, 8, 5, 5])
    """

    def __init__(self, *args: Any, p: float = 0.5, per_sample: bool = False,
                 inference: Inference = "mean", samples: int = 32, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup(p, per_sample, inference, samples)
        self._check_per_sample()


class DropConnectBlock(nn.Module):
    """``activation(layer(x))`` for a DropConnect ``layer``, with the paper's moment-matching
    inference when ``layer.inference == "moment"``.

    In training mode, and in eval mode with ``inference="mean"``, it is exactly
    ``activation(layer(x))``. In eval mode with ``inference="moment"`` it returns
    ``mean_s activation(E + √V · z_s)``, ``z_s ~ N(0, 1)``, over ``layer.samples`` draws (one
    at a time, so memory stays that of one output). ``generator`` is an attribute: set it to
    make the draws reproducible (it is used only when it lives on the input's device).

    Output units are drawn independently (the paper's Gaussian has a diagonal covariance).

    >>> block = DropConnectBlock(DropConnectLinear(4, 3, inference="moment"), nn.ReLU()).eval()
    >>> block.generator = torch.Generator().manual_seed(0)
    >>> bool((block(torch.randn(5, 4)) >= 0).all())
    True
    """

    def __init__(self, layer: nn.Module, activation: nn.Module) -> None:
        super().__init__()
        if not isinstance(layer, _DropConnect):
            raise TypeError(f"DropConnectBlock needs a DropConnect layer, got {type(layer).__name__}")
        self.layer = layer
        self.activation = activation
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer: Any = self.layer
        if self.training or layer.inference == "mean" or layer.p == 0:
            return self.activation(layer(x))
        mean, var = layer.moments(x)
        std = var.sqrt()
        total = torch.zeros_like(mean)
        for _ in range(layer.samples):
            total = total + self.activation(mean + std * normal_noise(mean.shape, like=mean,
                                                                       generator=self.generator))
        return total / layer.samples
