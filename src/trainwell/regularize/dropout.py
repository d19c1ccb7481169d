"""Dropout in its two equivalent forms: inverted (rescale while training) and the original
(rescale at test time).

While training each activation is kept with probability ``q = 1 − p`` and zeroed otherwise.
To keep the expected activation the same at train and test time, either

- ``"inverted"`` (torch's ``nn.Dropout``): train ``y = x · m / q``, test ``y = x``; or
- ``"scale_at_test"`` (the paper, and CS231n's first version): train ``y = x · m``,
  test ``y = q · x``;

with ``m ~ Bernoulli(q)`` elementwise. Both have ``E[y_train] = y_test``; inverted dropout
leaves the test-time network untouched, which is why frameworks use it.

Reference: N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov,
"Dropout: A Simple Way to Prevent Neural Networks from Overfitting", JMLR 2014.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from trainwell.regularize._checks import check_choice, check_probability
from trainwell.regularize._random import bernoulli_mask

__all__ = ["DROPOUT_MODES", "dropout", "Dropout"]

DropoutMode = Literal["inverted", "scale_at_test"]
DROPOUT_MODES: tuple[DropoutMode, ...] = ("inverted", "scale_at_test")


def dropout(x: torch.Tensor, p: float, *, training: bool, mode: DropoutMode = "inverted",
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` while ``training``; see the module
    docstring for where each ``mode`` rescales. Any shape; elementwise masks.

    >>> x = torch.ones(4)
    >>> dropout(x, 0.5, training=False, mode="scale_at_test")  # test time: x · (1 − p)
    tensor([0.5000, 0.5000, 0.5000, 0.5000])
    >>> y = dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(0))
    >>> sorted(set(y.tolist()))  # inverted: kept units are scaled by 1 / (1 − p)
    [0.0, 2.0]
    """
    p = check_probability("regularize.dropout.p", p)
    mode = check_choice("regularize.dropout.mode", mode, DROPOUT_MODES)
    keep = 1.0 - p
    if p == 0:
        return x
    if not training:
        return x if mode == "inverted" else x * keep
    mask = bernoulli_mask(x.shape, keep, like=x, generator=generator)
    return x * mask / keep if mode == "inverted" else x * mask


class Dropout(nn.Dropout):
    """Dropout with a choice of where the ``1 / (1 − p)`` correction goes (:func:`dropout`).

    A subclass of ``nn.Dropout``, so code that looks for dropout layers (diagnostics, MC
    dropout) finds it. ``generator`` is an attribute: set it to seed the masks.

    **Note**: ``p`` is the *drop* probability, as in torch; the paper's ``p`` is the
    probability of *keeping* a unit (``1 − p`` here).

    >>> layer = Dropout(0.2, mode="scale_at_test").eval()
    >>> layer(torch.full((2,), 10.0))
    tensor([8., 8.])
    """

    def __init__(self, p: float = 0.5, *, mode: DropoutMode = "inverted") -> None:
        p = check_probability("regularize.dropout.p", p)
        super().__init__(p)
        self.mode = check_choice("regularize.dropout.mode", mode, DROPOUT_MODES)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, training=self.training, mode=self.mode,
                       generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
