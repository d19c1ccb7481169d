"""The hidden block the mlp and cnn share: a weighted layer, batch norm before or after the
activation, the activation, dropout; and DropConnect in place of the weighted layer.

A block is an ``nn.Sequential`` with named children in forward order:

- ``linear``/``conv`` → [``norm``] → ``act`` → [``drop``] (``batch_norm = "before"``, or true),
- ``linear``/``conv`` → ``act`` → [``norm``] → [``drop``] (``batch_norm = "after"``),
- ``dropconnect`` → [``norm``] → [``drop``] with DropConnect, where ``dropconnect`` is a
  :class:`~trainwell.regularize.dropconnect.DropConnectBlock` holding the layer and its
  activation (its moment inference needs both),
- ``maxout`` → [``norm``] → [``drop``] with maxout, which is its own activation,

and any extra children (``pool``) last.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.regularize.dropconnect import (
    DropConnectBlock,
    DropConnectConv1d,
    DropConnectConv2d,
    DropConnectLinear,
)
from trainwell.regularize.dropconnect import Inference as DropConnectInference
from trainwell.regularize.dropout import Dropout, DropoutMode

__all__ = ["BatchNorm", "Probability", "DropoutMode", "DropConnectInference", "norm_placement",
           "check_dropconnect", "weighted_layer", "hidden_block"]

Placement = Literal["before", "after"]
Probability = Annotated[float, Field(ge=0, lt=1)]
"""Recipe option type of a drop probability in ``[0, 1)``."""


def _known_placement(value: object) -> object:
    if not (isinstance(value, bool) or (isinstance(value, str) and value in ("before", "after"))):
        raise ValueError("true or 'before' (normalize before the activation), 'after', or false")
    return value


BatchNorm = Annotated[bool | Placement, BeforeValidator(_known_placement)]
"""Recipe option type of batch normalization: false, true (= ``"before"``), ``"before"`` or
``"after"`` the activation."""

_DROPCONNECT: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: DropConnectLinear, nn.Conv1d: DropConnectConv1d, nn.Conv2d: DropConnectConv2d}


def norm_placement(batch_norm: bool | str) -> Placement | None:
    """Where the norm goes relative to the activation: ``"before"``, ``"after"`` or ``None``.

    >>> [norm_placement(b) for b in (True, False, "after")]
    ['before', None, 'after']
    """
    if batch_norm is True or batch_norm == "before":
        return "before"
    return "after" if batch_norm == "after" else None


def check_dropconnect(dropconnect: float, *, activation: str, batch_norm: bool | str) -> None:
    """Raise :class:`ConfigError` at ``model.dropconnect`` when DropConnect cannot be used.

    DropConnect replaces a weighted layer, and its moment inference needs the activation
    directly after that layer: maxout has no separate activation, and a norm before the
    activation would sit between the two.

    >>> check_dropconnect(0.5, activation="relu", batch_norm=True)
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: model.dropconnect = 0.5: expected 0 with batch_norm = True ...
    """
    if dropconnect <= 0:
        return
    if activation == "maxout":
        raise ConfigError("model.dropconnect", dropconnect,
                          "0 with activation = 'maxout' (maxout is a layer with its own pieces, "
                          "not a layer followed by an activation that DropConnect can wrap)")
    if norm_placement(batch_norm) == "before":
        raise ConfigError("model.dropconnect", dropconnect,
                          f"0 with batch_norm = {batch_norm!r} (a norm between the layer and its "
                          "activation breaks DropConnect's block); set batch_norm = 'after' or false")


def weighted_layer(cls: type[nn.Module], *args: Any, dropconnect: float, inference: str,
                   **kwargs: Any) -> nn.Module:
    """``cls(*args, **kwargs)`` (``nn.Linear``, ``nn.Conv1d`` or ``nn.Conv2d``), or its
    DropConnect version with drop probability ``dropconnect`` when that is > 0.

    Both draw the same initial weights from the same random state.

    >>> layer = weighted_layer(nn.Linear, 3, 2, dropconnect=0.5, inference="mean")
    >>> type(layer).__name__, layer.p
    ('DropConnectLinear', 0.5)
    """
    if dropconnect > 0:
        return _DROPCONNECT[cls](*args, p=dropconnect, inference=inference, **kwargs)
    return cls(*args, **kwargs)


def hidden_block(name: str, layer: nn.Module, activation: nn.Module | None, norm: nn.Module | None,
                 *, placement: Placement | None, dropout: float, dropout_mode: DropoutMode,
                 extra: Mapping[str, nn.Module] | None = None) -> nn.Sequential:
    """One hidden block (module docstring) around ``layer``, named ``name`` unless it is a
    DropConnect layer; ``activation`` is ``None`` for a maxout layer.

    >>> block = hidden_block("linear", nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4),
    ...                      placement="after", dropout=0.1, dropout_mode="inverted")
    >>> [name for name, _ in block.named_children()]
    ['linear', 'act', 'norm', 'drop']
    """
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    if activation is not None and type(layer) in _DROPCONNECT.values():
        parts["dropconnect"] = DropConnectBlock(layer, activation)
    else:
        parts[name] = layer
        if norm is not None and placement == "before":
            parts["norm"] = norm
        if activation is not None:
            parts["act"] = activation
    if norm is not None and "norm" not in parts:
        parts["norm"] = norm
    if dropout > 0:
        parts["drop"] = Dropout(dropout, mode=dropout_mode)
    parts.update(extra or {})
    return nn.Sequential(parts)
