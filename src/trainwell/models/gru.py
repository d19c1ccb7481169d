"""A recurrent baseline for 1-D signals: a (bidirectional) GRU read along the signal, its
outputs at every step flattened into a linear head, as MNIST-1D's ``GRUBase``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.mlp import check_io

__all__ = ["GRU", "gru"]


class GRU(nn.Module):
    """``nn.GRU`` over the length of ``(N, C, L)`` inputs (``C`` features per step), zero
    initial state, every step's output flattened, then ``self.head`` (Linear) to the logits.

    Build it with :func:`gru`, which checks the input shape.
    """

    def __init__(self, channels: int, length: int, num_classes: int, *, hidden_size: int,
                 bidirectional: bool, layers: int) -> None:
        super().__init__()
        self.trainwell_activation = ("tanh", 0.01)  # the head reads the GRU's tanh outputs
        self.gru = nn.GRU(channels, hidden_size, num_layers=layers, batch_first=True,
                          bidirectional=bidirectional)
        directions = 2 if bidirectional else 1
        self.head = nn.Linear(directions * hidden_size * length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x.transpose(1, 2))  # (N, L, directions x hidden)
        return self.head(out.flatten(1))


def gru(input_shape: Sequence[int], num_classes: int, *,
        hidden_size: Annotated[int, Field(ge=1)] = 6, bidirectional: bool = True,
        layers: Annotated[int, Field(ge=1)] = 1) -> GRU:
    """Build a GRU classifier for signals of ``input_shape = (C, L)``.

    Step :math:`t` reads :math:`x_{:, t}` and updates :math:`h_t = \\mathrm{GRU}(x_t,
    h_{t-1})`, :math:`h_0 = 0` (both directions with ``bidirectional``); the logits are
    :math:`W\\,[h_1; \\ldots; h_L] + b`. The defaults are MNIST-1D's: hidden size 6,
    bidirectional, one layer (5,134 parameters for 40 steps and 10 classes), 91 % test
    accuracy in the paper.

    **Note:** the recipe's ``[init]`` scheme initializes the head only; the GRU keeps
    PyTorch's initialization (:math:`U(\\pm 1/\\sqrt{\\mathrm{hidden}})`), as in the paper's code.

    Reference: Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for
    Statistical Machine Translation", 2014; Greydanus & Kobak, "Scaling Down Deep Learning
    with MNIST-1D", 2020 (``GRUBase`` in the mnist1d repository's ``notebooks/models.py``).

    >>> model = gru((1, 40), 10)
    >>> sum(p.numel() for p in model.parameters()), model(torch.zeros(2, 1, 40)).shape
    (5134, torch.Size([2, 10]))
    """
    shape, num_classes = check_io(input_shape, num_classes)
    if len(shape) != 2:
        raise ConfigError("model.name", "gru", f"signals shaped (C, L) per sample (a GRU reads "
                          f"a sequence); the data's samples are shaped {shape}")
    return GRU(shape[0], shape[1], num_classes, hidden_size=hidden_size,
               bidirectional=bidirectional, layers=layers)
