"""Argument checks shared by the regularizers: each raises one :class:`ConfigError`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeGuard, TypeVar

from trainwell.errors import ConfigError

S = TypeVar("S", bound=str)


def _real(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_probability(key: str, value: object) -> float:
    """A drop probability: a number in ``[0, 1)``."""
    if not (_real(value) and 0 <= value < 1):
        raise ConfigError(key, value, "a probability in [0, 1)")
    return float(value)


def check_survival(key: str, value: object) -> float:
    """A survival (keep) probability: a number in ``(0, 1]``."""
    if not (_real(value) and 0 < value <= 1):
        raise ConfigError(key, value, "a survival probability in (0, 1]")
    return float(value)


def check_nonnegative(key: str, value: object) -> float:
    """A finite number ``>= 0``."""
    if not (_real(value) and math.isfinite(value) and value >= 0):
        raise ConfigError(key, value, "a finite number >= 0")
    return float(value)


def check_positive_int(key: str, value: object) -> int:
    """An integer ``>= 1``."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ConfigError(key, value, "an integer >= 1")
    return value


def check_choice(key: str, value: object, choices: Iterable[S]) -> S:
    """One of ``choices`` (the choice equal to ``value``)."""
    options = tuple(choices)
    for choice in options:
        if value == choice:
            return choice
    raise ConfigError(key, value, "one of " + ", ".join(repr(c) for c in options))
