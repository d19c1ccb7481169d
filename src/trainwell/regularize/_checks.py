"""Argument checks shared by the regularizers: each raises one :class:`ConfigError`."""

from __future__ import annotations

import math
from collections.abc import Iterable

from trainwell.errors import ConfigError


def _real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_probability(key: str, value: object) -> float:
    """A drop probability: a number in ``[0, 1)``."""
    if not (_real(value) and 0 <= value < 1):  # type: ignore[operator]
        raise ConfigError(key, value, "a probability in [0, 1)")
    return float(value)  # type: ignore[arg-type]


def check_survival(key: str, value: object) -> float:
    """A survival (keep) probability: a number in ``(0, 1]``."""
    if not (_real(value) and 0 < value <= 1):  # type: ignore[operator]
        raise ConfigError(key, value, "a survival probability in (0, 1]")
    return float(value)  # type: ignore[arg-type]


def check_nonnegative(key: str, value: object) -> float:
    """A finite number ``>= 0``."""
    if not (_real(value) and math.isfinite(value) and value >= 0):  # type: ignore[arg-type,operator]
        raise ConfigError(key, value, "a finite number >= 0")
    return float(value)  # type: ignore[arg-type]


def check_positive_int(key: str, value: object) -> int:
    """An integer ``>= 1``."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ConfigError(key, value, "an integer >= 1")
    return value


def check_choice(key: str, value: object, choices: Iterable[str]) -> str:
    """One of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(key, value, "one of " + ", ".join(repr(c) for c in choices))
    return str(value)
