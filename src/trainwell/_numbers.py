"""Numbers made safe for JSON and SQLite: NaN and infinities become ``None``.

JSON has no NaN or infinity, and a metric that overflowed means "no value", not a number.
:func:`finite_or_none` handles one number; :func:`finite_floats` walks a JSON-like structure
and handles every float in it, leaving everything else as it is.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

__all__ = ["finite_or_none", "finite_floats"]


def finite_or_none(value: SupportsFloat | None) -> float | None:
    """``float(value)``, or ``None`` when ``value`` is ``None``, NaN or infinite.

    Anything ``float()`` accepts is converted: ints, numpy scalars, one-element tensors.

    >>> finite_or_none(3), finite_or_none(float("inf")), finite_or_none(None)
    (3.0, None, None)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def finite_floats(data: Any) -> Any:
    """``data`` with every non-finite float replaced by ``None``, in dicts, lists and tuples too.

    Only floats change; ints, strings, ``None`` and other objects are returned as they are,
    and a tuple stays a tuple.

    >>> finite_floats({"loss": float("nan"), "step": 3, "edges": [0.5, float("-inf")]})
    {'loss': None, 'step': 3, 'edges': [0.5, None]}
    """
    if isinstance(data, float):
        return finite_or_none(data)
    if isinstance(data, dict):
        return {k: finite_floats(v) for k, v in data.items()}
    if isinstance(data, list):
        return [finite_floats(v) for v in data]
    if isinstance(data, tuple):
        return tuple(finite_floats(v) for v in data)
    return data
