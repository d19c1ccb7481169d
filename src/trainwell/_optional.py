"""Optional dependencies, imported when a call needs them, with the install line when missing."""

from __future__ import annotations

from types import ModuleType

from trainwell.errors import TrainwellError

__all__ = ["pandas"]


def pandas() -> ModuleType:
    """The pandas module, or a :class:`~trainwell.errors.TrainwellError` that says how to get it.

    >>> pandas().__name__  # doctest: +SKIP
    'pandas'
    """
    try:
        import pandas
    except ImportError:
        raise TrainwellError("pandas is not installed: pip install 'trainwell[pandas]', or use "
                             "the plain rows (runs(), metrics(), records), which need no pandas") from None
    return pandas
