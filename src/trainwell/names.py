"""Resolve a name from a recipe or the command line in one of trainwell's explicit tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from trainwell.errors import ConfigError, did_you_mean

__all__ = ["get"]

T = TypeVar("T")


def get(table: Mapping[str, T], name: object, *, key: str) -> T:
    """Return ``table[name]`` or raise one :class:`ConfigError` listing the valid names.

    ``key`` is the recipe path the name came from (``"init.name"``), quoted in the message.

    >>> get({"relu": 1, "tanh": 2}, "relu", key="model.activation")
    1
    """
    if isinstance(name, str) and name in table:
        return table[name]
    choices = ", ".join(sorted(table))
    hint = did_you_mean(name, table) if isinstance(name, str) else ""
    raise ConfigError(key, name, f"one of {choices}{hint}")
