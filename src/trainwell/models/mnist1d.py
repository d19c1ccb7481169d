"""The mnist1d repository's own convolutional baseline, ``ConvBase``, and the recipe its code
trains every baseline with (:data:`MNIST1D_REFERENCE`), kept here once for the studies and
benchmarks that compare against it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.mlp import check_io

__all__ = ["ConvBase", "convbase", "MNIST1D_REFERENCE"]

MNIST1D_REFERENCE = {"optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0, "batch_size": 100,
                     "steps": 8000, "batches": "in order"}
"""How the mnist1d repository trains its baselines (``get_model_args`` and ``train_model`` in
its ``train.py``, 2020, and ``notebooks/train.py``, 2024, which agree): Adam at lr 1e-2, no
weight decay, batches of 100 taken in order (batch ``t`` is samples ``100 t mod 4000`` onwards:
the same 40 batches every pass, never shuffled, never drawn with replacement), 8,000 steps
(200 passes over the 4,000 training samples; the loop runs ``total_steps + 1`` steps). Copies
of ``get_model_args`` elsewhere that say 6,000 steps are not the repository's."""


def _out_length(length: int, kernel: int) -> int:
    return (length + 2 - kernel) // 2 + 1  # stride 2, padding 1


class ConvBase(nn.Module):
    """Three Conv1d layers (kernel 5, then 3 and 3; stride 2, padding 1), ReLU after each,
    the flattened features into ``self.head`` (Linear). Build it with :func:`convbase`."""

    def __init__(self, in_channels: int, length: int, num_classes: int, *, channels: int) -> None:
        super().__init__()
        self.trainwell_activation = ("relu", 0.01)
        self.conv1 = nn.Conv1d(in_channels, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        out = _out_length(_out_length(_out_length(length, 5), 3), 3)
        self.head = nn.Linear(channels * out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x))
        h = torch.relu(self.conv2(h))
        h = torch.relu(self.conv3(h))
        return self.head(h.flatten(1))


def convbase(input_shape: Sequence[int], num_classes: int, *,
             channels: Annotated[int, Field(ge=1)] = 25) -> ConvBase:
    """Build the mnist1d repository's ``ConvBase`` for signals of ``input_shape = (C, L)``.

    :math:`h_1 = \\mathrm{relu}(W_1 \\star x)` (kernel 5), :math:`h_2, h_3` likewise with
    kernel 3, all with stride 2 and padding 1, then :math:`W\\,\\mathrm{flatten}(h_3) + b`. For
    MNIST-1D's 40 points the lengths are 19, 10 and 5, so the head reads 25 x 5 = 125 features
    (5,210 parameters); about 94 % test accuracy with :data:`MNIST1D_REFERENCE`'s training.

    **Note:** the repository names the head ``linear``; here it is ``head``, like every
    trainwell model, so transfer and pre-training find it.

    Reference: Greydanus & Kobak, "Scaling Down Deep Learning with MNIST-1D", 2020
    (``ConvBase`` in the mnist1d repository's ``notebooks/models.py``).

    >>> model = convbase((1, 40), 10)
    >>> model.head, sum(p.numel() for p in model.parameters())
    (Linear(in_features=125, out_features=10, bias=True), 5210)
    """
    shape, num_classes = check_io(input_shape, num_classes)
    if len(shape) != 2 or _out_length(_out_length(_out_length(shape[-1], 5), 3), 3) < 1:
        raise ConfigError("model.name", "convbase", f"signals shaped (C, L) with L >= 3 per "
                          f"sample; the data's samples are shaped {shape}")
    return ConvBase(shape[0], shape[1], num_classes, channels=channels)
