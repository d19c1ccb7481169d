"""One metric over a grid point's seeds: mean, sample std and count, and how the table prints it.

Accuracies are stored as fractions and shown in percent; a value that is not a finite number
(``None``, NaN, a bool, a string) is left out.

>>> format_stat((0.912, 0.004))
'91.2 ± 0.4'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Stat", "stat", "format_stat", "finite_number"]


@dataclass(frozen=True)
class Stat:
    """One metric over a grid point's seeds, as stored (accuracies as fractions): the mean,
    the sample std (``None`` with fewer than two values) and ``n``, the values it is over."""

    mean: float
    std: float | None
    n: int


def stat(values: Sequence[Any]) -> Stat | None:
    """Mean, sample std and count of the finite numbers in ``values``; ``None`` without any.

    >>> s = stat([0.5, 0.7, None])
    >>> round(s.mean, 3), round(s.std, 4), s.n
    (0.6, 0.1414, 2)
    """
    xs = [x for x in map(finite_number, values) if x is not None]
    if not xs:
        return None
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return Stat(mean, None, 1)
    return Stat(mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)), len(xs))


def format_stat(stat: tuple[float, float | None] | None) -> str:
    """A (mean, std) accuracy pair in percent: ``"91.2 ± 0.4"``; ``"-"`` when missing."""
    if stat is None:
        return "-"
    mean, std = stat
    return f"{100 * mean:.1f}" if std is None else f"{100 * mean:.1f} ± {100 * std:.1f}"


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else ``None``.

    >>> finite_number(1), finite_number(float("nan")), finite_number(True), finite_number("1")
    (1.0, None, None, None)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
