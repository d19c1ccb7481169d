"""Tables: CSV and Parquet through pyarrow, one-hot columns, missing values, standardization."""

import numpy as np
import pyarrow as pa
import pytest
import torch
from pyarrow import csv, parquet

from trainwell.data import load_dataset
from trainwell.errors import ConfigError


def _table(n=200, seed=0, missing=False):
    rng = np.random.default_rng(seed)
    kind = np.array(["red", "green", "blue"])[np.arange(n) % 3]
    size = rng.normal(10.0, 3.0, n)
    if missing:
        size[7] = np.nan
    label = np.where(kind == "red", "yes", "no")
    return pa.table({"size": pa.array(size, from_pandas=True), "count": rng.integers(0, 9, n),
                     "kind": kind.tolist(), "label": label.tolist()})


def test_csv_one_hot_and_per_column_standardization(tmp_path):
    csv.write_csv(_table(), tmp_path / "t.csv")
    ds = load_dataset("table", path=str(tmp_path / "t.csv"), target="label")
    # size, count, and kind one-hot (blue, green, red)
    assert ds.meta.input_shape == (5,) and ds.meta.class_names == ("no", "yes")
    assert torch.allclose(ds.x_train.mean(0), torch.zeros(5), atol=1e-5)
    assert torch.allclose(ds.x_train.std(0, unbiased=False), torch.ones(5), atol=1e-4)
    assert "3 columns -> 5 inputs (1 one-hot encoded)" in ds.meta.source
    # the label is a function of the red column: every "yes" row has the largest red value
    red = ds.x_train[:, 4]
    assert bool((red[ds.y_train == 1] > red[ds.y_train == 0].max()).all())


def test_parquet_reads_like_csv(tmp_path):
    t = _table()
    csv.write_csv(t, tmp_path / "t.csv")
    parquet.write_table(t, tmp_path / "t.parquet")
    a = load_dataset("table", path=str(tmp_path / "t.csv"), target="label")
    b = load_dataset("table", path=str(tmp_path / "t.parquet"), target="label")
    assert torch.allclose(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)


def test_features_and_categorical(tmp_path):
    parquet.write_table(_table(), tmp_path / "t.parquet")
    ds = load_dataset("table", path=str(tmp_path / "t.parquet"), target="label",
                      features=["count"], categorical=["count"])
    assert ds.meta.input_shape == (9,)


def test_missing_values_are_refused_or_imputed(tmp_path):
    parquet.write_table(_table(missing=True), tmp_path / "t.parquet")
    with pytest.raises(ConfigError, match=r"data\.impute = 'none'.*'size' has 1 \(first in row 7\)"):
        load_dataset("table", path=str(tmp_path / "t.parquet"), target="label")
    ds = load_dataset("table", path=str(tmp_path / "t.parquet"), target="label", impute="median")
    assert bool(torch.isfinite(ds.x_train).all())


def test_unknown_target_suggests(tmp_path):
    csv.write_csv(_table(), tmp_path / "t.csv")
    with pytest.raises(ConfigError, match=r"data\.target = 'lable'.*did you mean 'label'"):
        load_dataset("table", path=str(tmp_path / "t.csv"), target="lable")


def test_integer_target_is_class_ids(tmp_path):
    t = _table().append_column("grade", pa.array(np.arange(200) % 4))
    csv.write_csv(t, tmp_path / "t.csv")
    ds = load_dataset("table", path=str(tmp_path / "t.csv"), target="grade",
                      features=["size", "count"])
    assert ds.meta.num_classes == 4 and ds.meta.class_names is None
