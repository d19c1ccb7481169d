"""A table of samples from a CSV or Parquet file (pyarrow), one row per sample.

``target`` names the label column; the features are the other columns (or those listed in
``features``). Text columns, and the numeric ones listed in ``categorical``, are one-hot
encoded (one input per value, values in sorted order); the rest are numbers. A missing value
is refused unless ``impute`` says how to fill it; ``normalize = "standardize"`` standardizes
each input column with the training split's mean and std.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trainwell.data.dataset import Dataset
from trainwell.data.prepare import LabelsFraction, LabelsPerClass, Normalize, SplitSeed, ValFraction
from trainwell.data.splits import Digest, TestFraction, UserClasses, from_splits
from trainwell.errors import ConfigError, did_you_mean

__all__ = ["table", "read_table", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
Impute = Literal["none", "mean", "median"]


def read_table(path: str | os.PathLike[str]) -> Any:
    """The file at ``path`` as a ``pyarrow.Table`` (CSV read on all cores, or Parquet)."""
    import pyarrow as pa
    from pyarrow import csv, parquet

    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError("data.path", str(path), f"an existing {', '.join(TABLE_SUFFIXES)} file")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return parquet.read_table(p)
        if p.suffix.lower() in (".csv", ".tsv"):
            delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
            return csv.read_csv(p, parse_options=csv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError("data.path", str(path), f"a readable table ({exc})") from None
    raise ConfigError("data.path", str(path), f"a file ending in {', '.join(TABLE_SUFFIXES)}")


def _columns(table: Any, target: str, features: list[str] | None,
             categorical: list[str] | None) -> tuple[list[str], set[str]]:
    names = list(table.column_names)
    for key, wanted in (("data.target", [target]), ("data.features", features or []),
                        ("data.categorical", categorical or [])):
        for col in wanted:
            if col not in names:
                raise ConfigError(key, col, f"a column of the table: {', '.join(names)}"
                                  f"{did_you_mean(col, names)}")
    chosen = features if features is not None else [c for c in names if c != target]
    if target in chosen:
        raise ConfigError("data.features", features, f"input columns other than the target "
                          f"{target!r}")
    if not chosen:
        raise ConfigError("data.features", features, "at least one input column")
    return chosen, set(categorical or [])


def _column(table: Any, name: str, one_hot: bool, impute: str) -> tuple[Any, list[str]]:
    """One column as inputs and the names of those ``k`` inputs: a numeric column (not
    ``one_hot``) as itself (its gaps filled), read into the inputs chunk by chunk; a one-hot one
    as float32 ``(N, k)``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(name)
    if col.null_count and impute == "none":
        first = int(np.flatnonzero(np.asarray(col.is_null()))[0])
        raise ConfigError("data.impute", impute, f"mean or median to fill missing values: "
                          f"column {name!r} has {col.null_count} (first in row {first})")
    if not one_hot:
        if col.null_count:
            fill = pc.mean(col) if impute == "mean" else pc.approximate_median(col)
            col = pc.fill_null(col, pc.cast(fill, col.type) if pa.types.is_integer(col.type)
                               else fill)
        return col, [name]
    text = pc.cast(col, pa.string()) if not pa.types.is_string(col.type) else col
    if text.null_count:
        text = pc.fill_null(text, "(missing)")
    levels = sorted(pc.unique(text).to_pylist())
    codes = np.searchsorted(np.asarray(levels, dtype=object), np.asarray(text.to_pylist(),
                                                                          dtype=object))
    out = np.zeros((len(codes), len(levels)), np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out, [f"{name}={v}" for v in levels]


def table(*, path: str, target: str, features: list[str] | None = None,
          categorical: list[str] | None = None, impute: Impute = "none",
          val_fraction: ValFraction = 0.1, test_fraction: TestFraction = 0.2,
          labels_fraction: LabelsFraction = 1.0, split_seed: SplitSeed = 0,
          normalize: Normalize = "standardize", classes: UserClasses = None,
          labels_per_class: LabelsPerClass = None, digest: Digest = None) -> Dataset:
    """Your CSV or Parquet table (see the module doc) as a Dataset of ``(D,)`` inputs.

    ``impute``: ``none`` refuses missing values; ``mean`` or ``median`` fills a numeric
    column's gaps with that statistic of its values (every row), and a one-hot column gets a
    ``(missing)`` value. A missing label is always refused. The test split is a stratified
    ``test_fraction`` of the rows (seeded by ``split_seed``).

    >>> ds = table(path="penguins.csv", target="species")  # doctest: +SKIP
    >>> ds.meta.class_names  # doctest: +SKIP
    ('Adelie', 'Chinstrap', 'Gentoo')
    """
    import pyarrow as pa

    data = read_table(path)
    chosen, categorical_set = _columns(data, target, features, categorical)
    y_col = data.column(target)
    if y_col.null_count:
        first = int(np.flatnonzero(np.asarray(y_col.is_null()))[0])
        raise ConfigError("data.target", target, f"a label in every row; row {first} has none")
    y = y_col.to_numpy(zero_copy_only=False)
    if pa.types.is_string(y_col.type) or pa.types.is_large_string(y_col.type):
        y = np.asarray(y, dtype=str)
    parts: list[Any] = []
    inputs: list[str] = []
    hot = 0
    for name in chosen:
        col = data.column(name)
        one_hot = name in categorical_set or not (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
            or pa.types.is_boolean(col.type))
        values, names = _column(data, name, one_hot, impute)
        hot += one_hot
        parts.append(values)
        inputs += names
    x = np.empty((data.num_rows, len(inputs)), np.float32)
    at = 0
    for values in parts:
        if isinstance(values, np.ndarray):
            x[:, at:at + values.shape[1]] = values
            at += values.shape[1]
            continue
        row = 0
        for chunk in values.chunks:
            x[row:row + len(chunk), at] = chunk.to_numpy(zero_copy_only=False)
            row += len(chunk)
        at += 1
    options = {"path": path, "target": target, "features": features, "categorical": categorical,
               "impute": impute, "test_fraction": test_fraction, "digest": digest}
    return from_splits(
        {"train": (x, y)}, name="table",
        source=f"table {path}: {len(chosen)} columns -> {len(inputs)} inputs"
               + (f" ({hot} one-hot encoded)" if hot else ""),
        options={k: v for k, v in options.items() if v is not None and v != "none"},
        key="data.path", value=path, val_fraction=val_fraction, test_fraction=test_fraction,
        labels_fraction=labels_fraction, split_seed=split_seed, normalize=normalize,
        classes=classes, labels_per_class=labels_per_class, per_feature=True)
