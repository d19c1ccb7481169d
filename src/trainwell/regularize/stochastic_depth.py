"""Stochastic depth: drop whole residual branches while training, so the network is shallow
in expectation while training and deep at test time.

Block ``l`` of ``L`` computes ``y = x + b_l · f_l(x)`` with ``b_l ~ Bernoulli(p_l)`` while
training, and its *survival probability* decays linearly with depth:
``p_l = 1 − (l / L) · (1 − p_L)`` (``p_0 = 1`` for the input, ``p_L = 0.5`` in the paper).
At test time the branch is scaled by its survival probability, ``y = x + p_l · f_l(x)``, so
the expected training output equals the test output.

Reference: G. Huang, Y. Sun, Z. Liu, D. Sedra, K. Weinberger, "Deep Networks with Stochastic
Depth", ECCV 2016 (arXiv:1603.09382).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from trainwell.regularize._checks import check_choice, check_positive_int, check_survival
from trainwell.regularize._random import bernoulli_mask

__all__ = ["DROP_MODES", "SCALES", "survival_probabilities", "drop_path", "StochasticDepth"]

DropMode = Literal["batch", "sample"]
Scale = Literal["test", "train"]
DROP_MODES: tuple[DropMode, ...] = ("batch", "sample")
SCALES: tuple[Scale, ...] = ("test", "train")


def survival_probabilities(num_blocks: int, *, last_survival: float = 0.5) -> list[float]:
    """Survival probability of each of ``num_blocks`` residual blocks, first to last:
    ``p_l = 1 − (l / L) · (1 − last_survival)`` for ``l = 1..L``.

    ``last_survival`` is ``p_L``, the probability that the *last* block is kept (the paper's
    0.5). A recipe's ``stochastic_depth = d`` is the drop probability of the last block, so
    it is ``last_survival = 1 − d``.

    >>> survival_probabilities(4, last_survival=0.5)
    [0.875, 0.75, 0.625, 0.5]
    """
    num_blocks = check_positive_int("num_blocks", num_blocks)
    last = check_survival("last_survival", last_survival)
    # p_L + (1 − l/L)(1 − p_L) is the same line, and exact at the last block
    return [last + (1.0 - layer / num_blocks) * (1.0 - last) for layer in range(1, num_blocks + 1)]


def drop_path(x: torch.Tensor, survival: float, *, training: bool, mode: DropMode = "batch",
              scale_at_test: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """A residual branch's output ``x``, kept with probability ``survival`` and zeroed
    otherwise while ``training``.

    ``mode="batch"`` draws once for the whole minibatch (the paper); ``"sample"`` draws per
    sample (the first dimension), like timm's ``drop_path`` and torchvision's ``"row"``.
    With ``scale_at_test`` (the paper) the kept branch is unscaled while training and
    multiplied by ``survival`` at test; without it (timm, torchvision) it is divided by
    ``survival`` while training and unchanged at test. The mask is a tensor multiplied in, so
    no step waits for a host sync.

    >>> x = torch.ones(2, 3)
    >>> drop_path(x, 0.8, training=False)
    tensor([[0.8000, 0.8000, 0.8000],
            [0.8000, 0.8000, 0.8000]])
    >>> drop_path(x, 0.8, training=False, scale_at_test=False).sum().item()
    6.0
    """
    survival = check_survival("survival", survival)
    mode = check_choice("mode", mode, DROP_MODES)
    if not training:
        return x * survival if scale_at_test and survival < 1 else x
    if survival == 1:
        return x
    shape = (x.shape[0],) + (1,) * (x.dim() - 1) if mode == "sample" and x.dim() else (1,) * x.dim()
    mask = bernoulli_mask(shape, survival, like=x, generator=generator)
    return x * mask if scale_at_test else x * (mask / survival)


class StochasticDepth(nn.Module):
    """Drops the residual branch it is applied to with probability ``1 − survival``
    (:func:`drop_path`); use it as ``y = x + sd(f(x))``.

    ``scale="test"`` (the paper) multiplies the branch by ``survival`` at test time;
    ``scale="train"`` (timm, torchvision) divides it by ``survival`` while training. Both
    give the same expected output. ``generator`` is an attribute: set it to seed the draws.

    **Note**: the paper skips the branch's computation when it is dropped (its ~25% faster
    training); this module zeroes the branch's output, so the branch still runs. The result
    is the same; the time saving is not.

    >>> sd = StochasticDepth(0.5).eval()
    >>> sd(torch.full((1, 2), 4.0))
    tensor([[2., 2.]])
    """

    def __init__(self, survival: float, *, mode: DropMode = "batch", scale: Scale = "test") -> None:
        super().__init__()
        self.survival = check_survival("survival", survival)
        self.mode = check_choice("mode", mode, DROP_MODES)
        self.scale = check_choice("scale", scale, SCALES)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.survival, training=self.training, mode=self.mode,
                         scale_at_test=self.scale == "test", generator=self.generator)

    def extra_repr(self) -> str:
        return f"survival={self.survival}, mode={self.mode!r}, scale={self.scale!r}"
