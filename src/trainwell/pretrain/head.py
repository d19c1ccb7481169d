"""Initialize a pre-trained MLP's output layer alone, as the whole model's scheme would."""

from __future__ import annotations

import torch
from torch import nn

from trainwell.init import apply_

__all__ = ["init_head_"]


class _Head(nn.Module):
    """The model's head alone, carrying the model's activation for schemes that read it."""

    def __init__(self, head: nn.Module, activation: tuple[str, float]) -> None:
        super().__init__()
        self.head, self.trainwell_activation = head, activation


def init_head_(model: nn.Module, scheme: str, *, generator: torch.Generator | None = None) -> None:
    """Give ``model.head`` the static ``scheme`` with the gain :func:`~trainwell.init.apply_`
    would give it in the whole model, and a zero bias; the hidden layers are left alone."""
    apply_(_Head(model.head, model.trainwell_activation), scheme, bias=0.0, generator=generator)
