"""The ``[train]`` options that change how fast a run trains, not what it learns: ``precision``,
``compile`` and ``channels_last``.

Each is left out of a recipe's dict at its default (``fp32``, ``false``, ``false``), so
recipes that do not use them keep their run ids. :func:`check_speed` validates and normalizes
them; :func:`to_channels_last` converts a model's 2-D convolutions to channels-last memory.

Channels-last (NHWC) stores each pixel's channels together, the layout GPU convolution
kernels (tensor cores) and oneDNN's CPU kernels prefer; a convolution whose weight is
channels-last runs its input in that layout too, so converting the model is enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainwell.errors import ConfigError
from trainwell.loop.compile import check_compile
from trainwell.loop.precision import check_precision

__all__ = ["SPEED_OPTIONS", "check_speed", "to_channels_last", "check_channels_last_input"]

SPEED_OPTIONS: dict[str, str] = {
    "precision": "fp32 (default), bf16 or fp16: the forward pass under autocast in that type; "
                 "fp16 adds a gradient scaler; weights, checkpoints and metrics stay float32",
    "compile": 'false (default), true or "max-autotune": torch.compile of the model (inductor); '
               "its warm-up is timed apart (the history's compile.warmup_seconds)",
    "channels_last": "false (default) or true: channels-last memory for a model with 2-D "
                     "convolutions (image data)",
}
"""The speed options of ``[train]``, for ``trainwell list``."""

_DEFAULTS: dict[str, Any] = {"precision": "fp32", "compile": False, "channels_last": False}

_CLOSURE_OPTIMIZERS = ("lbfgs",)


def check_speed(train: Mapping[str, Any], *, optimizer: str = "") -> dict[str, Any]:
    """The speed options of the ``[train]`` table ``train``, checked, with ``None`` for each one
    at its default (so it stays out of the recipe's dict and run id).

    ``optimizer``: the recipe's ``optim.name``; ``fp16``'s scaler cannot drive an optimizer
    that re-evaluates the loss within a step (L-BFGS).

    >>> check_speed({"precision": "fp32", "compile": True})
    {'precision': None, 'compile': True, 'channels_last': None}
    """
    out: dict[str, Any] = {}
    for key, default in _DEFAULTS.items():
        value = train.get(key)
        if value is None:
            out[key] = None
            continue
        if key == "precision":
            value = check_precision(value)
        elif key == "compile":
            value = check_compile(value)
        elif not isinstance(value, bool):
            raise ConfigError("train.channels_last", value,
                              "true or false (channels-last memory for 2-D convolutions)")
        out[key] = None if value == default else value
    if out["precision"] == "fp16" and optimizer in _CLOSURE_OPTIMIZERS:
        raise ConfigError("train.precision", "fp16", f"fp32 or bf16 with optim.name = "
                          f"{optimizer!r}: the fp16 gradient scaler cannot scale a loss that "
                          "the optimizer re-evaluates within a step")
    return out


def check_channels_last_input(shape: tuple[int, ...]) -> None:
    """Raise :class:`ConfigError` for ``train.channels_last`` on inputs that are not images
    (one sample's shape ``(C, H, W)``)."""
    if len(shape) != 3:
        raise ConfigError("train.channels_last", True,
                          f"false for inputs of shape {shape}: channels-last memory is for "
                          "images (channels, height, width) and 2-D convolutions")


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Convert ``model``'s 4-D parameters and buffers to channels-last memory, in place; raise
    :class:`ConfigError` for a model without a 2-D convolution.

    >>> m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
    >>> to_channels_last(m)[0].weight.is_contiguous(memory_format=torch.channels_last)
    True
    """
    if not any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        raise ConfigError("train.channels_last", True,
                          f"false for a model without 2-D convolutions "
                          f"({type(model).__name__} has none)")
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
