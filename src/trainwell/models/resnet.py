"""A residual network: a stem, ``blocks`` residual blocks of ``width`` channels, a linear head.

Convolutions follow the input (Conv1d for ``(C, L)``, Conv2d for ``(C, H, W)``), or, with
``layout = "mlp"``, the input is flattened and every block is a residual MLP block. Blocks may
be dropped whole while training (stochastic depth) and followed by fractional max pooling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.activations import Activation, NegativeSlope, make_activation
from trainwell.models.blocks import DropoutMode, Probability
from trainwell.models.cnn import KernelSize
from trainwell.models.mlp import check_io
from trainwell.models.pooling import SQRT_HALF, FractionalMaxPool, GlobalPool, PoolRatio
from trainwell.params import validate_params
from trainwell.regularize.dropconnect import DropConnectLinear
from trainwell.regularize.dropout import Dropout
from trainwell.regularize.stochastic_depth import DropMode, StochasticDepth, survival_probabilities

__all__ = ["ResNet", "ResidualBlock", "resnet", "check_residual_activation"]


def check_residual_activation(activation: str) -> None:
    """Raise :class:`ConfigError` at ``model.activation`` for maxout, which a residual block
    cannot use.

    >>> check_residual_activation("relu")
    """
    if activation == "maxout":
        raise ConfigError("model.activation", activation,
                          "an elementwise activation (resnet adds the branch to its input, "
                          "which maxout's k pieces do not fit)")


class ResidualBlock(nn.Module):
    """``act(x + sd(branch(x)))`` where the branch is two layers with batch norm:
    ``layer → BN → act → layer → BN`` (He et al., "Deep Residual Learning", 2016).

    ``sd`` is :class:`~trainwell.regularize.stochastic_depth.StochasticDepth` with the block's
    survival probability (identity when it is 1).
    """

    def __init__(self, width: int, *, dims: int, kernel_size: int, activation: str,
                 negative_slope: float, batch_norm: bool, survival: float, mode: DropMode) -> None:
        super().__init__()
        norm: type[nn.BatchNorm1d | nn.BatchNorm2d] = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        if dims == 0:
            def layer() -> nn.Module:
                return nn.Linear(width, width)
        else:
            conv = (nn.Conv1d, nn.Conv2d)[dims - 1]

            def layer() -> nn.Module:
                return conv(width, width, kernel_size, padding=kernel_size // 2)
        parts: list[nn.Module] = [layer()]
        if batch_norm:
            parts.append(norm(width))
        parts += [make_activation(activation, negative_slope=negative_slope), layer()]
        if batch_norm:
            parts.append(norm(width))
        self.branch = nn.Sequential(*parts)
        self.drop = StochasticDepth(survival, mode=mode) if survival < 1 else nn.Identity()
        self.act = make_activation(activation, negative_slope=negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.drop(self.branch(x)))


class ResNet(nn.Module):
    """Stem → ``blocks`` × (:class:`ResidualBlock` → [pool]) → global average → [Dropout] → Linear.

    ``self.stem`` maps the input to ``width`` channels (a convolution, or a Linear after
    flattening for ``layout = "mlp"``); ``self.blocks`` holds the residual blocks, each followed
    by a pooling layer when ``pool`` is not ``"none"`` and every spatial size is at least 2
    (never for ``layout = "mlp"``);
    then ``self.gap`` (global average pooling and flatten; identity for ``layout = "mlp"``),
    ``self.drop`` and ``self.head`` (the logits).
    Build it with :func:`resnet`, which checks the options.
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, *, blocks: int, width: int,
                 kernel_size: int, activation: str, negative_slope: float, batch_norm: bool,
                 stochastic_depth: float, stochastic_depth_mode: DropMode, pool: str,
                 pool_ratio: float, layout: str, dropout: float = 0.0,
                 dropout_mode: DropoutMode = "inverted", dropconnect: float = 0.0,
                 stem_norm: bool = False, global_pool: str = "avg", stem_pool: bool = False,
                 stem_stride: int = 1) -> None:
        super().__init__()
        self.trainwell_activation = (activation, negative_slope)
        dims = 0 if layout == "mlp" else len(input_shape) - 1
        if dims == 0:
            stem: nn.Module = nn.Sequential(nn.Flatten(start_dim=1),
                                            nn.Linear(math.prod(input_shape), width))
        else:
            conv = (nn.Conv1d, nn.Conv2d)[dims - 1]
            stem = conv(input_shape[0], width, kernel_size, padding=kernel_size // 2, stride=stem_stride)
        norm = [(nn.BatchNorm1d, nn.BatchNorm2d)[dims - 1](width)] if stem_norm and dims else []
        sizes = list(input_shape[1:]) if dims else []
        sizes = [(s + stem_stride - 1) // stem_stride for s in sizes]
        halve: list[nn.Module] = []
        if stem_pool and dims and min(sizes) >= 2:
            halve = [(nn.MaxPool1d, nn.MaxPool2d)[dims - 1](2)]
            sizes = [s // 2 for s in sizes]
        self.stem = nn.Sequential(stem, *norm, make_activation(activation, negative_slope=negative_slope),
                                  *halve)
        survival = survival_probabilities(blocks, last_survival=1.0 - stochastic_depth)
        layers: list[nn.Module] = []
        for p in survival:
            layers.append(ResidualBlock(width, dims=dims, kernel_size=kernel_size,
                                        activation=activation, negative_slope=negative_slope,
                                        batch_norm=batch_norm, survival=p,
                                        mode=stochastic_depth_mode))
            if pool != "none" and dims and min(sizes) >= 2:
                if pool == "fractional":
                    pooled = FractionalMaxPool(sizes, ratio=pool_ratio)
                    sizes = pooled.output_size
                    layers.append(pooled)
                else:
                    layers.append((nn.MaxPool1d, nn.MaxPool2d)[dims - 1](2))
                    sizes = [s // 2 for s in sizes]
        self.blocks = nn.Sequential(*layers)
        features = width
        if dims:
            self.gap: nn.Module = GlobalPool(global_pool)
            features = width * (2 if global_pool == "avgmax" else 1)
        else:
            self.gap = nn.Identity()
        self.drop = Dropout(dropout, mode=dropout_mode) if dropout > 0 else nn.Identity()
        self.head = (DropConnectLinear(features, num_classes, p=dropconnect) if dropconnect > 0
                     else nn.Linear(features, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.gap(self.blocks(self.stem(x)))))


def resnet(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    blocks: Annotated[int, Field(ge=1)] = 3,
    width: Annotated[int, Field(ge=1)] = 32,
    kernel_size: KernelSize = 3,
    activation: Activation = "relu",
    negative_slope: NegativeSlope = 0.01,
    batch_norm: bool = True,
    stochastic_depth: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    stochastic_depth_mode: DropMode = "batch",
    pool: Literal["none", "max", "fractional"] = "none",
    pool_ratio: PoolRatio = SQRT_HALF,
    layout: Literal["auto", "mlp"] = "auto",
    dropout: Probability = 0.0,
    dropout_mode: DropoutMode = "inverted",
    dropconnect: Probability = 0.0,
    stem_norm: bool = False,
    global_pool: Literal["avg", "max", "avgmax"] = "avg",
    stem_pool: bool = False,
    stem_stride: Annotated[int, Field(ge=1)] = 1,
) -> ResNet:
    """Build a residual network for inputs of ``input_shape`` and ``num_classes`` logits.

    Block ``l`` computes :math:`h_l = f(h_{l-1} + b_l \\cdot F_l(h_{l-1}))` (He, Zhang, Ren & Sun,
    "Deep Residual Learning for Image Recognition", 2016) where :math:`F_l` is two (conv or
    linear) layers, each followed by batch norm when ``batch_norm``, with :math:`f` between them;
    :math:`b_l \\sim \\mathrm{Bernoulli}(p_l)` while training, where ``stochastic_depth`` is the
    last block's drop probability :math:`1 - p_L` (Huang et al., "Deep Networks with
    Stochastic Depth", 2016): survival :math:`p_l = 1 - \\tfrac{l}{L}(1 - p_L)` decays linearly
    over depth, one draw per minibatch (``stochastic_depth_mode = "sample"``: per sample), and
    at test time the branch is scaled by :math:`p_l`. ``pool = "max"`` follows each block with
    max pooling by 2, ``"fractional"`` with fractional max pooling by ``pool_ratio`` (Graham,
    "Fractional Max-Pooling", 2014), while every spatial size is at least 2.
    ``layout = "mlp"`` flattens the input and uses residual MLP blocks of ``width`` units (a
    flat input shape ``(D,)`` always does). ``dropout`` drops the pooled features before the
    head (Srivastava et al., "Dropout", 2014), rescaling as ``dropout_mode`` says (see
    :mod:`trainwell.regularize.dropout`); ``dropconnect`` makes the head a DropConnect layer
    (Wan et al., "Regularization of Neural Networks using DropConnect", 2013, who put it on
    the classifier above the convolutional features), the mean network at test time.
    ``stem_norm`` puts batch norm between the stem's convolution and its activation;
    ``global_pool`` pools the last feature map by its mean (``"avg"``), its maximum over
    positions (``"max"``: is a pattern anywhere) or both, concatenated (``"avgmax"``);
    ``stem_pool`` max-pools the stem's output by 2, so every block works on a quarter of the
    positions of an image (half of a signal's) and costs a quarter (a half) as much;
    ``stem_stride`` strides the stem's convolution instead (or as well), which skips even the
    stem's work on the positions it leaves out.

    >>> model = resnet((1, 40), 10, blocks=2, width=8, stochastic_depth=0.5)
    >>> model(torch.zeros(4, 1, 40)).shape
    torch.Size([4, 10])
    """
    shape, num_classes = check_io(input_shape, num_classes, dims=(1, 2, 3))
    options = validate_params(resnet, {
        "blocks": blocks, "width": width, "kernel_size": kernel_size, "activation": activation,
        "negative_slope": negative_slope, "batch_norm": batch_norm,
        "stochastic_depth": stochastic_depth, "stochastic_depth_mode": stochastic_depth_mode,
        "pool": pool, "pool_ratio": pool_ratio, "layout": layout, "dropout": dropout,
        "dropout_mode": dropout_mode, "dropconnect": dropconnect, "stem_norm": stem_norm,
        "global_pool": global_pool, "stem_pool": stem_pool, "stem_stride": stem_stride}, key="model")
    check_residual_activation(options["activation"])
    if len(shape) == 1:
        options["layout"] = "mlp"
    return ResNet(shape, num_classes, **options)
