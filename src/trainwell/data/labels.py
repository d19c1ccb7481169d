"""Class labels as the user has them, turned into ids ``0 .. K-1`` and checked.

Integer labels are ids already (``K`` is the largest plus one); integral floats and booleans
count as integers; strings (or bytes) are class names, numbered in sorted order, and the names
are kept. Anything else (a fractional label, a negative id, a missing label) is refused with
the split and the position of the first bad value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainwell.errors import ConfigError

__all__ = ["encode_labels", "class_ids"]


def encode_labels(ys: Mapping[str, Any], *, key: str, value: object
                  ) -> tuple[dict[str, np.ndarray], tuple[str, ...] | None, int]:
    """Labels of every split as int64 ids, the class names (None for integer labels) and ``K``.

    ``key`` and ``value`` say where the labels came from in a :class:`ConfigError`.

    >>> ids, names, k = encode_labels({"train": ["b", "a", "b"], "test": ["a"]}, key="data",
    ...                               value="y")
    >>> ids["train"].tolist(), names, k
    ([1, 0, 1], ('a', 'b'), 2)
    """
    arrays = {split: _one_dim(np.asarray(y), split, key, value) for split, y in ys.items()}
    if any(a.dtype.kind in "USOa" for a in arrays.values()):
        texts = {s: _as_text(a, s, key, value) for s, a in arrays.items()}
        names = np.unique(np.concatenate(list(texts.values())))
        ids = {s: np.searchsorted(names, t).astype(np.int64) for s, t in texts.items()}
        return ids, tuple(str(n) for n in names), len(names)
    ids = {s: _as_ids(a, s, key, value) for s, a in arrays.items()}
    k = max((int(a.max()) + 1 for a in ids.values() if a.size), default=0)
    return ids, None, k


def class_ids(classes: Sequence[Any] | None, names: Sequence[str] | None, k: int
              ) -> list[int] | None:
    """The ``classes`` option as class ids: names are looked up in ``names``, ids kept.

    >>> class_ids(["dog", "cat"], ("cat", "dog"), 2)
    [1, 0]
    """
    if classes is None:
        return None
    out = []
    for c in classes:
        if isinstance(c, str):
            if names is None or c not in names:
                known = ", ".join(names) if names else f"ids 0..{k - 1} (the labels are integers)"
                raise ConfigError("data.classes", list(classes), f"class names or ids of this "
                                  f"dataset: {known}; {c!r} is not one")
            out.append(names.index(c))
        else:
            out.append(c)
    return out


def _one_dim(y: np.ndarray, split: str, key: str, value: object) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ConfigError(key, value, f"one label per sample (a 1-D y); y_{split} is shaped "
                          f"{y.shape} (one-hot labels: take argmax along the last axis)")
    return y


def _as_text(y: np.ndarray, split: str, key: str, value: object) -> np.ndarray:
    if y.dtype.kind == "S":
        return y.astype(str)
    if y.dtype.kind == "O":
        bad = [i for i, v in enumerate(y) if not isinstance(v, (str, bytes))]
        if bad:
            raise ConfigError(key, value, f"labels that are all class names or all integers; "
                              f"y_{split}[{bad[0]}] is {y[bad[0]]!r}")
        return np.array([v.decode() if isinstance(v, bytes) else v for v in y], dtype=str)
    if y.dtype.kind != "U":
        raise ConfigError(key, value, "labels that are all class names or all integers; "
                          f"y_{split} mixes names with {y.dtype} values")
    return y


def _as_ids(y: np.ndarray, split: str, key: str, value: object) -> np.ndarray:
    allowed = "integer labels 0..K-1 or class names (strings)"
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise ConfigError(key, value, f"{allowed}; y_{split}[{bad[0]}] is {y[bad[0]].item()!r}, "
                              "not an integer")
    elif y.dtype.kind not in "iu":
        raise ConfigError(key, value, f"{allowed}; y_{split} holds {y.dtype} values")
    y = y.astype(np.int64)
    negative = np.flatnonzero(y < 0)
    if negative.size:
        raise ConfigError(key, value, f"{allowed}; y_{split}[{negative[0]}] is "
                          f"{int(y[negative[0]])}, below 0")
    return y
