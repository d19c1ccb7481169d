"""Gradient clipping by global norm, as a training-loop callback.

After the backward pass, when the norm of all gradients together exceeds ``max_norm`` they are
scaled by ``max_norm / norm``: the direction stays, the step is bounded. The remedy for an
exploding gradient (Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent neural
networks", ICML 2013); ``torch.nn.utils.clip_grad_norm_`` does the work.
"""

from __future__ import annotations

from typing import Any

import torch

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError

__all__ = ["ClipGradNorm"]


class ClipGradNorm:
    """A callback that clips the gradients' global norm to ``max_norm`` after every backward pass.

    >>> net = torch.nn.Linear(3, 1)
    >>> net(torch.full((1, 3), 100.0)).sum().backward()
    >>> class S: model = net
    >>> ClipGradNorm(1.0).after_backward(S)
    >>> round(float(torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in net.parameters()]))), 4)
    1.0
    """

    order = ORDER["clip"]

    def __init__(self, max_norm: float) -> None:
        if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
            raise ConfigError("train.clip_norm", max_norm, "a number > 0 (the largest gradient norm)")
        self.max_norm = float(max_norm)

    def after_backward(self, state: Any) -> None:
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), self.max_norm)
