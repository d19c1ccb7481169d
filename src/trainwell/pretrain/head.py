"""Initialize a pre-trained MLP's output layer alone, as the whole model's scheme would.

A pre-trainer calls :func:`check_head_scheme` before it trains anything and
:func:`init_head_` when it is done, so a bad head scheme costs no time and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init import INITIALIZERS, apply_
from trainwell.models.mlp import MLP
from trainwell.names import get
from trainwell.params import validate_params

__all__ = ["check_head_scheme", "init_head_"]


class _Head(nn.Module):
    """The model's head alone, carrying the model's activation for schemes that read it."""

    def __init__(self, head: nn.Module, activation: tuple[str, float]) -> None:
        super().__init__()
        self.head, self.trainwell_activation = head, activation


def init_head_(model: MLP, scheme: str, *, generator: torch.Generator | None = None) -> None:
    """Give ``model.head`` the static ``scheme`` with the gain :func:`~trainwell.init.apply_`
    would give it in the whole model, and a zero bias; the hidden layers are left alone."""
    apply_(_Head(model.head, model.trainwell_activation), scheme, bias=0.0, generator=generator)


def check_head_scheme(scheme: object) -> None:
    """Raise a :class:`~trainwell.errors.ConfigError` naming ``init.output_init`` unless
    ``scheme`` names a static scheme that :func:`init_head_` can apply: one that needs no options.

    >>> check_head_scheme("orthogonal")
    >>> check_head_scheme("constant")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    trainwell.errors.ConfigError: init.output_init = 'constant': expected a scheme that needs no options: ...
    """
    if not _needs_nothing(get(INITIALIZERS, scheme, key="init.output_init")):
        usable = ", ".join(name for name, fn in INITIALIZERS.items() if _needs_nothing(fn))
        raise ConfigError("init.output_init", scheme,
                          f"a scheme that needs no options: one of {usable}")


def _needs_nothing(fn: Callable[..., Any]) -> bool:
    try:
        validate_params(fn, {}, key="init.output_init")
    except ConfigError:
        return False
    return True
