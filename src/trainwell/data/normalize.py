"""The statistics a dataset is normalized by, taken from its training inputs chunk by chunk.

``"standardize"`` subtracts the mean and divides by the (population) standard deviation of the
training inputs, accumulated in float64 a chunk at a time, so inputs of any numeric dtype
(uint8 pixels memory-mapped from disk included) give the same statistics as their float32
values; ``"unit"`` maps a value range to ``[0, 1]``; ``"none"`` leaves the inputs as they are.
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalization", "feature_moments"]

_CHUNK = 4096


def normalization(x_train: np.ndarray, normalize: str,
                  unit_range: tuple[float, float] | None = None
                  ) -> tuple[float | None, float | None, bool]:
    """``(shift, scale, clip)`` of ``normalize`` for training inputs ``x_train`` (any numeric
    dtype): ``x' = (x - shift) / scale``, clipped to ``[0, 1]`` when ``clip``; ``(None, None,
    False)`` for ``"none"``. ``"unit"`` needs no clip when ``unit_range`` covers every value
    of an integer dtype (uint8 pixels in ``(0, 255)``).

    >>> normalization(np.array([[0, 255]], np.uint8), "unit", (0.0, 255.0))
    (0.0, 255.0, False)
    """
    if normalize == "standardize":
        return (*_moments(x_train), False)
    if normalize == "unit":
        lo, hi = unit_range if unit_range is not None else _extent(x_train)
        whole = x_train.dtype.kind in "ui" and unit_range is not None \
            and lo <= np.iinfo(x_train.dtype).min and hi >= np.iinfo(x_train.dtype).max
        return float(lo), float(hi - lo) if hi > lo else 1.0, not whole
    return None, None, False


def _moments(x: np.ndarray) -> tuple[float, float]:
    """Scalar mean and (population) std, accumulated in float64 chunk by chunk."""
    n = x.size
    total = sum(float(c.sum(dtype=np.float64)) for c in _chunks(x))
    mean = total / n
    sq = sum(float(np.square(c.astype(np.float64) - mean).sum()) for c in _chunks(x))
    std = (sq / n) ** 0.5
    return mean, std if std > 0 else 1.0


def feature_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std of each feature (a table's columns) over the samples,
    accumulated in float64 chunk by chunk; a constant feature keeps std 1."""
    n = len(x)
    mean = sum(c.sum(axis=0, dtype=np.float64) for c in _chunks(x)) / n
    sq = sum(np.square(c.astype(np.float64) - mean).sum(axis=0) for c in _chunks(x))
    std = np.sqrt(sq / n)
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def _extent(x: np.ndarray) -> tuple[float, float]:
    return float(x.min()), float(x.max())


def _chunks(x: np.ndarray):
    for i in range(0, len(x), _CHUNK):
        yield x[i:i + _CHUNK]
