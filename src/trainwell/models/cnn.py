"""A convolutional network for 1-D signals ``(C, L)`` or 2-D images ``(C, H, W)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import torch
from pydantic import AfterValidator, Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.activations import (
    Activation,
    MaxoutConv,
    MaxoutK,
    NegativeSlope,
    make_activation,
)
from trainwell.models.blocks import (
    BatchNorm,
    DropConnectInference,
    DropoutMode,
    Probability,
    check_dropconnect,
    hidden_block,
    norm_placement,
    weighted_layer,
)
from trainwell.models.mlp import check_io
from trainwell.models.pooling import SQRT_HALF, FractionalMaxPool, PoolRatio
from trainwell.params import validate_params
from trainwell.regularize.dropout import Dropout

__all__ = ["CNN", "cnn", "Channels", "KernelSize", "PoolAfter"]


def _odd(kernel_size: int) -> int:
    if kernel_size % 2 == 0:
        raise ValueError("an odd integer >= 1 (so that 'same' padding is symmetric)")
    return kernel_size


KernelSize = Annotated[int, Field(ge=1), AfterValidator(_odd)]
"""Recipe option type of a convolution's kernel size: odd, so 'same' padding keeps the size."""


def _nonempty(channels: list[int]) -> list[int]:
    if not channels:
        raise ValueError("a non-empty list of channel counts, e.g. [32, 64]")
    return channels


Channels = Annotated[list[Annotated[int, Field(ge=1)]], AfterValidator(_nonempty)]
"""Recipe option type of the output channels of each conv block, at least one block."""


def _increasing(blocks: list[int]) -> list[int]:
    if not blocks or sorted(set(blocks)) != blocks:
        raise ValueError("a non-empty, increasing list of block numbers counted from 1, e.g. [3, 6, 9]")
    return blocks


PoolAfter = Annotated[list[Annotated[int, Field(ge=1)]], AfterValidator(_increasing)]
"""Recipe option type of the blocks (counted from 1) that end with a pooling layer."""


class CNN(nn.Module):
    """``len(channels)`` × (Conv → [BatchNorm] → activation → [pool]) → global average → Linear.

    ``self.features`` is an :class:`torch.nn.Sequential` of blocks in forward order, each an
    ``nn.Sequential`` with children ``conv``, ``norm``, ``act``, ``pool`` (those that are used;
    ``norm`` after ``act`` with ``batch_norm="after"``); with ``activation="maxout"`` the
    ``conv`` and ``act`` children are one :class:`MaxoutConv` child named ``maxout``; with
    DropConnect they are one :class:`~trainwell.regularize.dropconnect.DropConnectBlock` named
    ``dropconnect`` (see :mod:`trainwell.models.blocks`). A block (every block, or those
    listed in ``pool_after``) pools (by 2, or by ``pool_ratio`` for fractional pooling) only
    while every spatial size is at least 2.
    ``self.input_drop`` (only with input dropout) comes before the blocks; after them come
    ``self.gap`` (global average pooling and flatten), ``self.drop``, ``self.fc`` (the
    feature layer, or ``None``) and ``self.head`` (the logits). :meth:`hidden_layers` lists
    the convolutions in forward order.

    **Note:** with maxout, batch normalization is applied after the maximum over pieces.

    Build it with :func:`cnn`, which checks the options.
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, *, channels: list[int],
                 kernel_size: int, activation: str, negative_slope: float, maxout_k: int,
                 batch_norm: bool | str, dropout: float, pool: str, pool_ratio: float = SQRT_HALF,
                 dropout_mode: DropoutMode = "inverted", input_dropout: float = 0.0,
                 dropconnect: float = 0.0, dropconnect_inference: DropConnectInference = "mean",
                 pool_after: list[int] | None = None, hidden: int = 0) -> None:
        super().__init__()
        self.trainwell_activation = (activation, negative_slope)
        dims = len(input_shape) - 1
        conv_cls = (nn.Conv1d, nn.Conv2d)[dims - 1]
        norm_cls = (nn.BatchNorm1d, nn.BatchNorm2d)[dims - 1]
        pool_cls = {"max": (nn.MaxPool1d, nn.MaxPool2d), "avg": (nn.AvgPool1d, nn.AvgPool2d)}
        placement = norm_placement(batch_norm)
        self.input_drop = Dropout(input_dropout, mode=dropout_mode) if input_dropout > 0 else None
        sizes = list(input_shape[1:])
        fan_in = input_shape[0]
        blocks = []
        pooled = set(range(1, len(channels) + 1) if pool_after is None else pool_after)
        for number, width in enumerate(channels, start=1):
            if activation == "maxout":
                layer: nn.Module = MaxoutConv(fan_in, width, kernel_size, k=maxout_k, dims=dims,
                                              padding=kernel_size // 2)
                act = None
            else:
                layer = weighted_layer(conv_cls, fan_in, width, kernel_size, padding=kernel_size // 2,
                                       dropconnect=dropconnect, inference=dropconnect_inference)
                act = make_activation(activation, negative_slope=negative_slope)
            extra: dict[str, nn.Module] = {}
            if number not in pooled or min(sizes) < 2:
                pass
            elif pool == "fractional":
                fractional = FractionalMaxPool(sizes, ratio=pool_ratio)
                extra["pool"], sizes = fractional, fractional.output_size
            elif pool in pool_cls:
                extra["pool"] = pool_cls[pool][dims - 1](2)
                sizes = [s // 2 for s in sizes]
            blocks.append(hidden_block("maxout" if act is None else "conv", layer, act,
                                       norm_cls(width) if placement else None, placement=placement,
                                       dropout=0.0, dropout_mode=dropout_mode, extra=extra))
            fan_in = width
        self.features = nn.Sequential(*blocks)
        gap = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)[dims - 1]
        self.gap = nn.Sequential(gap(1), nn.Flatten(start_dim=1))
        self.drop = Dropout(dropout, mode=dropout_mode) if dropout > 0 else nn.Identity()
        self.fc: nn.Module | None = None
        if hidden:
            self.fc = nn.Sequential(nn.Linear(fan_in, hidden),
                                    make_activation(activation, negative_slope=negative_slope))
            fan_in = hidden
        self.head = nn.Linear(fan_in, num_classes)

    def hidden_layers(self) -> list[nn.Conv1d | nn.Conv2d]:
        """The convolutions in forward order (for maxout, the pieces' convolution; with
        DropConnect, the DropConnect convolution)."""
        kinds = (nn.Conv1d, nn.Conv2d)
        return [next(m for m in block.modules() if isinstance(m, kinds)) for block in self.features]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_drop is not None:
            x = self.input_drop(x)
        pooled = self.gap(self.features(x))
        if self.fc is not None:
            pooled = self.fc(pooled)
        return self.head(self.drop(pooled))


def cnn(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    channels: Channels = [32, 64],  # noqa: B006  (never mutated)
    kernel_size: KernelSize = 5,
    activation: Activation = "relu",
    negative_slope: NegativeSlope = 0.01,
    maxout_k: MaxoutK = 2,
    batch_norm: BatchNorm = False,
    dropout: Probability = 0.0,
    pool: Literal["max", "avg", "fractional", "none"] = "max",
    pool_ratio: PoolRatio = SQRT_HALF,
    dropout_mode: DropoutMode = "inverted",
    input_dropout: Probability = 0.0,
    dropconnect: Probability = 0.0,
    dropconnect_inference: DropConnectInference = "mean",
    pool_after: PoolAfter | None = None,
    hidden: Annotated[int, Field(ge=0)] = 0,
) -> CNN:
    """Build a convolutional network: Conv1d for ``input_shape = (C, L)``, Conv2d for ``(C, H, W)``.

    Block ``l`` computes :math:`h_l = \\mathrm{pool}(f(\\mathrm{BN}(W_l \\star h_{l-1} + b_l)))`
    with ``channels[l]`` output channels and 'same' padding ``kernel_size // 2``; the head
    computes :math:`W_{out}\\,\\mathrm{drop}(\\mathrm{mean}_{p}\\, h_{L}[:, p]) + b_{out}`
    (global average pooling, Lin, Chen & Yan, "Network In Network", 2014). The model's
    ``trainwell_activation`` is ``(activation, negative_slope)``, read by initializers to choose
    their gain.

    ``pool`` is max or average pooling by 2, ``"fractional"`` max pooling by ``pool_ratio``
    (Graham, "Fractional Max-Pooling", 2014, :class:`~trainwell.models.pooling.FractionalMaxPool`:
    a size of 40 becomes 28, 19, 13, ... with the default :math:`1/\\sqrt{2}`), or ``"none"``.
    It follows every block, or only the blocks listed in ``pool_after`` (counted from 1):
    ``channels=[16] * 9, kernel_size=3, pool_after=[3, 6, 9]`` is a deep thin network of
    3×3 (here 3-wide) convolutions in three stages, as FitNets are (Romero et al., "FitNets:
    Hints for Thin Deep Nets", 2015).
    ``batch_norm``, ``dropout_mode``, ``input_dropout`` (here on the input signal or image),
    ``dropconnect`` (on the convolutions) and ``dropconnect_inference`` are as for
    :func:`~trainwell.models.mlp.mlp`; ``dropout`` drops the pooled features before the head.
    ``hidden = n`` puts a fully connected feature layer of ``n`` units (``self.fc``: Linear and
    the activation) between the pooling and the head, as the FC layers before AlexNet's and
    VGG's classifiers, whose outputs transfer learning uses as features (0: none).

    >>> model = cnn((1, 8, 8), 10, channels=[4, 8], kernel_size=3)
    >>> model(torch.zeros(2, 1, 8, 8)).shape, len(model.hidden_layers())
    (torch.Size([2, 10]), 2)
    >>> cnn((1, 40), 10, channels=[4, 4, 4], pool="fractional").features(torch.zeros(1, 1, 40)).shape
    torch.Size([1, 4, 13])
    >>> cnn((1, 8, 8), 10, channels=[4], hidden=16).fc
    Sequential(
      (0): Linear(in_features=4, out_features=16, bias=True)
      (1): ReLU()
    )
    >>> cnn((1, 40), 10, channels=[4] * 6, kernel_size=3, pool_after=[2, 4, 6]).features(
    ...     torch.zeros(1, 1, 40)).shape
    torch.Size([1, 4, 5])
    """
    shape, num_classes = check_io(input_shape, num_classes, dims=(2, 3))
    options = validate_params(cnn, {
        "channels": list(channels) if isinstance(channels, tuple) else channels,
        "kernel_size": kernel_size, "activation": activation, "negative_slope": negative_slope,
        "maxout_k": maxout_k, "batch_norm": batch_norm, "dropout": dropout, "pool": pool,
        "pool_ratio": pool_ratio, "dropout_mode": dropout_mode, "input_dropout": input_dropout,
        "dropconnect": dropconnect, "dropconnect_inference": dropconnect_inference,
        "pool_after": pool_after, "hidden": hidden,
    }, key="model")
    if options["pool_after"] is not None and options["pool_after"][-1] > len(options["channels"]):
        raise ConfigError("model.pool_after", options["pool_after"], f"block numbers from 1 to "
                          f"{len(options['channels'])} (one per entry of model.channels)")
    check_dropconnect(options["dropconnect"], activation=options["activation"],
                      batch_norm=options["batch_norm"])
    return CNN(shape, num_classes, **options)
