"""From raw train/test arrays to a Dataset: the options every loader shares, handled once.

Every loader reads or generates its samples, shapes them ``(N, C, ...)`` and hands them to
:func:`prepare_dataset`, which applies, in this order:

1. ``classes``: only the listed classes are kept, in train and test alike, relabelled
   ``0 .. k-1`` in the order given (``meta.classes`` keeps the original ids);
2. ``val_fraction``: a stratified validation split carved from the training split;
3. ``labels_fraction``: a stratified subset of what remains keeps its labels, the rest
   becomes ``x_unlabeled`` (every class keeps at least one labelled sample); or instead
   ``labels_per_class``: exactly that many labelled samples of each class, the rest unlabelled;
4. ``normalize``: statistics from the labelled training inputs only, applied to every split.

The splits draw from ``split_seed`` alone, so they are fixed for a recipe whatever its
training seed; the validation split does not depend on which labels are withheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import pydantic
import torch

from trainwell.data.dataset import Dataset, DatasetMeta, to_float
from trainwell.data.normalize import feature_moments, normalization
from trainwell.errors import ConfigError

__all__ = [
    "ValFraction", "LabelsFraction", "SplitSeed", "Normalize", "Classes", "LabelsPerClass",
    "stratified_split", "prepare_dataset",
]

ValFraction = Annotated[float, pydantic.Field(ge=0.0, lt=0.5)]
LabelsFraction = Annotated[float, pydantic.Field(gt=0.0, le=1.0)]
SplitSeed = Annotated[int, pydantic.Field(ge=0)]
Normalize = Literal["standardize", "unit", "none"]
LabelsPerClass = Annotated[int, pydantic.Field(ge=1)] | None


def _classes_problem(classes: Any, num_classes: int) -> str | None:
    """What ``classes`` may be, and why it is not, for a dataset of ``num_classes``; or None."""
    allowed = f"a list of at least 2 distinct class ids in 0..{num_classes - 1}"
    if not isinstance(classes, (list, tuple)):
        return allowed
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            return f"{allowed}; {c!r} is not an integer"
    if len(classes) < 2:
        return f"{allowed}; a single class leaves nothing to tell apart"
    for c in classes:
        if not 0 <= c < num_classes:
            return f"{allowed}; {c} is not a class of this dataset"
    seen: set[int] = set()
    for c in classes:
        if c in seen:
            return f"{allowed}; {c} is listed twice"
        seen.add(int(c))
    return None


def _ten_classes(classes: Any) -> list[int]:
    # Every loader serves a ten-class dataset; prepare_dataset checks again with the real count.
    # One check of the whole list, so every problem is reported at data.classes itself.
    problem = _classes_problem(classes, 10)
    if problem is not None:
        raise ValueError(problem)
    return [int(c) for c in classes]


Classes = Annotated[list[int], pydantic.PlainValidator(_ten_classes)] | None

_EXACT = tuple(np.dtype(t) for t in (np.float32, np.uint8, np.int8, np.uint16, np.int16))
"""Dtypes whose values float32 holds exactly: normalized while converted, in one pass."""


def stratified_split(y: np.ndarray, fraction: float, *, seed: int | Sequence[int],
                     min_per_class: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split the indices of ``y`` into ``(rest, taken)``; ``taken`` has ``fraction`` of each class.

    ``round(fraction * N)`` indices are taken in all; class ``c`` with ``n_c`` samples gets
    ``floor(fraction * n_c)`` or one more (largest remainders first), but at least
    ``min(min_per_class, n_c)``. Within a class the samples are chosen by a permutation from
    ``numpy.random.default_rng(seed)``; both index arrays come back in shuffled order.

    >>> rest, taken = stratified_split(np.repeat([0, 1], 50), 0.2, seed=0)
    >>> len(rest), len(taken), np.bincount(np.repeat([0, 1], 50)[taken]).tolist()
    (80, 20, [10, 10])
    """
    y = np.asarray(y)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    share = fraction * counts
    quota = np.floor(share).astype(np.int64)
    missing = int(round(fraction * len(y))) - int(quota.sum())
    if missing > 0:
        order = np.argsort(-(share - quota), kind="stable")
        quota[order[:missing]] += 1
    quota = np.maximum(quota, np.minimum(min_per_class, counts))
    rng = np.random.default_rng(seed)
    rest, taken = [], []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        members = members[rng.permutation(len(members))]
        taken.append(members[:quota[c]])
        rest.append(members[quota[c]:])
    rest_idx = np.concatenate(rest) if rest else np.zeros(0, np.int64)
    taken_idx = np.concatenate(taken) if taken else np.zeros(0, np.int64)
    return rest_idx[rng.permutation(len(rest_idx))], taken_idx[rng.permutation(len(taken_idx))]


def prepare_dataset(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray, *, name: str, num_classes: int, source: str,
                    options: Mapping[str, Any], val_fraction: float, labels_fraction: float,
                    split_seed: int, normalize: str,
                    unit_range: tuple[float, float] | None = None,
                    classes: Sequence[int] | None = None,
                    labels_per_class: int | None = None,
                    val: tuple[np.ndarray, np.ndarray] | None = None,
                    class_names: Sequence[str] | None = None,
                    per_feature: bool = False,
                    train_rows: np.ndarray | None = None) -> Dataset:
    """Carve validation and unlabelled splits from the training arrays, normalize, build a Dataset.

    ``classes`` (ids in ``0 .. num_classes-1``, at least two, distinct) keeps only those
    classes of both arrays; class ``classes[i]`` becomes label ``i``, ``meta.num_classes`` is
    ``len(classes)`` and ``meta.classes`` the original ids. ``labels_per_class = n`` keeps
    ``n`` labelled training samples of each class (a seeded permutation within the class) and
    puts the rest in ``x_unlabeled``, like ``labels_fraction`` (which must then stay 1);
    validation and test keep all their labels.

    ``normalize="standardize"``: ``x' = (x - mean) / std`` with scalar ``mean``, ``std`` of the
    labelled training inputs. ``normalize="unit"``: ``x' = clip((x - lo) / (hi - lo), 0, 1)``
    with ``(lo, hi) = unit_range`` (the raw value range, e.g. ``(0, 255)``), or the labelled
    training minimum and maximum when ``unit_range`` is None. ``meta.mean`` and ``meta.std``
    record the shift and the divisor applied (None for ``"none"``); ``meta.options`` holds
    ``options`` plus the four shared ones, and ``classes`` and ``labels_per_class`` when set.

    ``val``: a validation split the source gives itself (``val_fraction`` then carves nothing);
    ``class_names``: the name of each original class (``meta.class_names`` follows
    ``classes``); ``per_feature``: ``"standardize"`` with one mean and std per input feature
    (a table's columns; ``meta.mean`` and ``meta.std`` stay None) instead of scalars;
    ``train_rows``: the rows of ``x_train`` that hold the training samples, in the order of
    ``y_train`` (None: every row), so a caller that carved a test split need not copy the rest.

    >>> x, y = np.arange(40.0).reshape(20, 1, 2), np.arange(20) % 2
    >>> ds = prepare_dataset(x, y, x[:4], y[:4], name="toy", num_classes=2, source="", options={},
    ...                      val_fraction=0.2, labels_fraction=1.0, split_seed=0, normalize="none")
    >>> len(ds.x_train), len(ds.x_val), ds.x_train.dtype, ds.y_train.dtype
    (16, 4, torch.float32, torch.int64)
    >>> ds = prepare_dataset(x, y + 2 * (np.arange(20) >= 10), x[:4], y[:4], name="toy",
    ...                      num_classes=4, source="", options={}, val_fraction=0.0,
    ...                      labels_fraction=1.0, split_seed=0, normalize="none",
    ...                      classes=[3, 0], labels_per_class=2)
    >>> ds.meta.num_classes, ds.meta.classes, sorted(ds.y_train.tolist()), len(ds.x_unlabeled)
    (2, (3, 0), [0, 0, 1, 1], 6)
    """
    _check(val_fraction, labels_fraction, split_seed, normalize)
    _check_subset(classes, labels_per_class, labels_fraction, num_classes)
    y_train, y_test = np.asarray(y_train, np.int64), np.asarray(y_test, np.int64)
    kept = None if classes is None else tuple(int(c) for c in classes)
    names = None if class_names is None else tuple(str(n) for n in class_names)
    x_given, y_given = (None, None) if val is None else (val[0], np.asarray(val[1], np.int64))
    if train_rows is not None:
        if kept is not None:
            x_train, train_rows = x_train[train_rows], None
        elif len(train_rows) != len(y_train):
            raise ValueError("train_rows and y_train differ in length")
    if kept is not None:
        x_train, y_train = _keep_classes(x_train, y_train, kept, num_classes)
        x_test, y_test = _keep_classes(np.asarray(x_test), y_test, kept, num_classes)
        if x_given is not None and y_given is not None:
            x_given, y_given = _keep_classes(np.asarray(x_given), y_given, kept, num_classes)
        names = None if names is None else tuple(names[c] for c in kept)
        num_classes = len(kept)
    if x_given is None:
        rest, val_idx = stratified_split(y_train, val_fraction, seed=[split_seed, 0])
    else:
        rest, val_idx = np.arange(len(y_train)), np.zeros(0, np.int64)
    if labels_per_class is None:
        unlabeled, labelled = stratified_split(y_train[rest], labels_fraction,
                                               seed=[split_seed, 1], min_per_class=1)
    else:
        _check_enough(y_train[rest], labels_per_class, num_classes, kept)
        # A fraction of 0 with a floor of n per class takes exactly n of each class.
        unlabeled, labelled = stratified_split(y_train[rest], 0.0, seed=[split_seed, 1],
                                               min_per_class=labels_per_class)
    labelled, unlabeled = rest[labelled], rest[unlabeled]
    rows = (lambda i: i) if train_rows is None else (lambda i: train_rows[i])
    xs = {"train": x_train[rows(labelled)],
          "val": x_train[rows(val_idx)] if x_given is None else np.asarray(x_given),
          "test": np.asarray(x_test)}
    y_val = y_train[val_idx] if y_given is None else y_given
    if labels_fraction < 1.0 or labels_per_class is not None:
        xs["unlabeled"] = x_train[rows(unlabeled)]
    shift = scale = None
    if normalize == "standardize" and per_feature:
        xs = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in xs.items()}
        mean, std = feature_moments(xs["train"])
        for v in xs.values():
            np.subtract(v, mean, out=v)
            np.divide(v, std, out=v)
    else:
        if any(v.dtype not in _EXACT for v in xs.values()):  # statistics of the float32 values
            xs = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in xs.items()}
        shift, scale, clip = normalization(xs["train"], normalize, unit_range)
        xs = {k: to_float(v, shift, scale, clip) for k, v in xs.items()}

    subset = {"classes": None if kept is None else list(kept),
              "labels_per_class": labels_per_class}
    meta = DatasetMeta(
        name=name, input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=num_classes, mean=shift, std=scale, source=source,
        options={**options, "val_fraction": val_fraction, "labels_fraction": labels_fraction,
                 "split_seed": split_seed, "normalize": normalize,
                 **{k: v for k, v in subset.items() if v is not None}},
        classes=kept, class_names=names,
    )
    return Dataset(
        x_train=torch.from_numpy(xs["train"]), y_train=torch.from_numpy(y_train[labelled]),
        x_val=torch.from_numpy(xs["val"]), y_val=torch.from_numpy(y_val),
        x_test=torch.from_numpy(xs["test"]), y_test=torch.from_numpy(y_test.copy()),
        meta=meta,
        x_unlabeled=torch.from_numpy(xs["unlabeled"]) if "unlabeled" in xs else None,
    )


def _check(val_fraction: float, labels_fraction: float, split_seed: int, normalize: str) -> None:
    """The same bounds the loaders' type hints declare, for direct (non-recipe) calls."""
    if not 0.0 <= val_fraction < 0.5:
        raise ConfigError("data.val_fraction", val_fraction, "a number in [0, 0.5)")
    if not 0.0 < labels_fraction <= 1.0:
        raise ConfigError("data.labels_fraction", labels_fraction, "a number in (0, 1]")
    if isinstance(split_seed, bool) or not isinstance(split_seed, (int, np.integer)) \
            or split_seed < 0:
        raise ConfigError("data.split_seed", split_seed, "an integer >= 0")
    if normalize not in ("standardize", "unit", "none"):
        raise ConfigError("data.normalize", normalize, "one of standardize, unit, none")


def _check_subset(classes: Sequence[int] | None, labels_per_class: int | None,
                  labels_fraction: float, num_classes: int) -> None:
    if classes is not None:
        problem = _classes_problem(classes, num_classes)
        if problem is not None:
            raise ConfigError("data.classes", classes, problem)
    if labels_per_class is None:
        return
    if isinstance(labels_per_class, bool) or not isinstance(labels_per_class, (int, np.integer)) \
            or labels_per_class < 1:
        raise ConfigError("data.labels_per_class", labels_per_class, "an integer >= 1")
    if labels_fraction < 1.0:
        raise ConfigError("data.labels_per_class", labels_per_class,
                          f"no value while data.labels_fraction = {labels_fraction}: both choose "
                          "which labels to keep, so set only one of them")


def _keep_classes(x: np.ndarray, y: np.ndarray, kept: tuple[int, ...],
                  num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples of the ``kept`` classes, their labels mapped to positions in ``kept``."""
    mask = np.isin(y, kept)
    label = np.zeros(num_classes, np.int64)
    label[list(kept)] = np.arange(len(kept))
    return x[mask], label[y[mask]]


def _check_enough(y: np.ndarray, n: int, num_classes: int, kept: tuple[int, ...] | None) -> None:
    """Every class must have ``n`` training samples left to label."""
    counts = np.bincount(y, minlength=num_classes)
    short = int(np.argmin(counts))
    if counts[short] < n:
        original = short if kept is None else kept[short]
        raise ConfigError("data.labels_per_class", n,
                          f"at most {int(counts[short])}: class {original} has "
                          f"{int(counts[short])} training samples (after the validation split)")
