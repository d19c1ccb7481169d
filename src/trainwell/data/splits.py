"""The user's samples, split by split, checked and turned into a Dataset.

Every source of the user's data (arrays, an image folder, a table, a data factory, Python
objects) reads its samples into ``{"train": (x, y), "val": ..., "test": ...}`` (only ``train``
is required) with inputs already shaped ``(N, ...)`` per sample, and hands them to
:func:`from_splits`, which

1. checks them: every ``x`` numeric and finite, as long as its ``y``, one sample shape for all
   splits, at least two classes (:mod:`trainwell.data.labels` turns the labels into ids);
2. carves a stratified test split of ``test_fraction`` from ``train`` when there is none
   (seeded by ``split_seed``), and a validation split when there is none
   (``val_fraction``, as for the built-in datasets);
3. applies the shared options through :func:`~trainwell.data.prepare.prepare_dataset`.

Bad data raises one :class:`~trainwell.errors.ConfigError` naming where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import numpy as np
import pydantic

from trainwell.data.dataset import Dataset
from trainwell.data.labels import class_ids, encode_labels
from trainwell.data.prepare import prepare_dataset, stratified_split
from trainwell.errors import ConfigError

__all__ = ["TestFraction", "UserClasses", "Digest", "SPLITS", "from_splits"]

TestFraction = Annotated[float, pydantic.Field(ge=0.0, lt=1.0)]
UserClasses = list[int] | list[str] | None
"""``classes`` of the user's data: ids, or class names when the source names its classes."""
Digest = str | None
"""Filled in when the recipe is resolved: what identifies the data (see :mod:`.resolve`)."""
SPLITS = ("train", "val", "test")

_CHUNK = 1 << 16


def from_splits(splits: Mapping[str, tuple[Any, Any]], *, name: str, source: str,
                options: Mapping[str, Any], key: str, value: object, val_fraction: float,
                test_fraction: float, labels_fraction: float, split_seed: int,
                normalize: str, classes: Sequence[int | str] | None = None,
                labels_per_class: int | None = None,
                class_names: Sequence[str] | None = None,
                unit_range: tuple[float, float] | None = None,
                per_feature: bool = False) -> Dataset:
    """Check the user's ``splits`` and build the Dataset (see the module doc).

    ``key`` and ``value`` (``"data.path"`` and the path) go into every error message;
    ``class_names`` names the ids of integer labels (an image folder's subfolders).

    >>> x, y = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50) % 2
    >>> ds = from_splits({"train": (x, y)}, name="arrays", source="", options={}, key="data",
    ...                  value="x", val_fraction=0.1, test_fraction=0.2, labels_fraction=1.0,
    ...                  split_seed=0, normalize="standardize")
    >>> len(ds.x_train), len(ds.x_val), len(ds.x_test), ds.meta.input_shape
    (36, 4, 10, (3,))
    """
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or "train" not in splits:
        raise ConfigError(key, value, f"splits among {', '.join(SPLITS)}, train required; "
                          f"got {', '.join(splits) or 'none'}")
    xs = {s: _features(x, s, key, value) for s, (x, _) in splits.items()}
    ids, names, k = encode_labels({s: y for s, (_, y) in splits.items()}, key=key, value=value)
    if class_names is not None:
        names, k = tuple(class_names), max(k, len(class_names))
    for s in xs:
        if len(xs[s]) != len(ids[s]):
            raise ConfigError(key, value, f"as many labels as samples; x_{s} has {len(xs[s])} "
                              f"samples and y_{s} {len(ids[s])} labels")
        if xs[s].shape[1:] != xs["train"].shape[1:]:
            raise ConfigError(key, value, f"one sample shape in every split; x_train samples "
                              f"are {xs['train'].shape[1:]}, x_{s} samples {xs[s].shape[1:]}")
    present = np.unique(ids["train"])
    if len(present) < 2:
        what = f"class {names[present[0]]!r}" if names and len(present) else "one class"
        raise ConfigError(key, value, f"at least two classes to tell apart; the training "
                          f"labels hold {what} only")
    if "test" not in xs:
        if test_fraction <= 0:
            raise ConfigError("data.test_fraction", test_fraction, "a number in (0, 1): the data "
                              "has no test split, so one is carved from the training split")
        rest, test = (np.sort(i) for i in stratified_split(ids["train"], test_fraction,
                                                            seed=[split_seed, 2]))
        xs["test"], ids["test"] = xs["train"][test], ids["train"][test]
        ids["train"], train_rows = ids["train"][rest], rest
    else:
        train_rows = None
    val = (xs["val"], ids["val"]) if "val" in xs else None
    return prepare_dataset(
        xs["train"], ids["train"], xs["test"], ids["test"], name=name, num_classes=k,
        source=source, options=options, val_fraction=val_fraction,
        labels_fraction=labels_fraction, split_seed=split_seed, normalize=normalize,
        unit_range=unit_range, classes=class_ids(classes, names, k),
        labels_per_class=labels_per_class, val=val, class_names=names, per_feature=per_feature,
        train_rows=train_rows)


def _features(x: Any, split: str, key: str, value: object) -> np.ndarray:
    """``x`` as a numeric array of at least two dimensions, every value finite."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ConfigError(key, value, f"numeric inputs; x_{split} holds {arr.dtype} values")
    if arr.ndim < 2:
        raise ConfigError(key, value, f"inputs shaped (N, features...) with one row per sample; "
                          f"x_{split} is shaped {arr.shape}")
    if len(arr) == 0:
        raise ConfigError(key, value, f"samples in every split; x_{split} is empty")
    if arr.dtype.kind == "f":
        for start in range(0, len(arr), _CHUNK):
            chunk = arr[start:start + _CHUNK]
            bad = ~np.isfinite(chunk)
            if bad.any():
                row = start + int(np.flatnonzero(bad.reshape(len(chunk), -1).any(axis=1))[0])
                raise ConfigError(key, value, f"finite inputs; x_{split}[{row}] holds NaN or inf "
                                  "(impute or drop such samples first)")
    return arr
