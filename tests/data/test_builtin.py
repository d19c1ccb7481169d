"""Built-in datasets: shapes, train-only normalization, stratified deterministic splits, cache."""

from __future__ import annotations

import random

import mnist1d.data as mnist1d_data
import numpy as np
import pytest
import torch

from trainwell.data import (
    DATASETS,
    DESCRIPTIONS,
    digits,
    load_dataset,
    mnist1d,
    mnist5k,
    stratified_split,
)
from trainwell.errors import ConfigError


@pytest.fixture
def small_mnist1d(tmp_path):
    def make(**options):
        return mnist1d(num_samples=1000, cache_dir=str(tmp_path), **options)
    return make


def _loaders(small_mnist1d):
    return {"digits": digits, "mnist5k": mnist5k, "mnist1d": small_mnist1d}


SHAPES = {"digits": (1, 8, 8), "mnist5k": (1, 28, 28), "mnist1d": (1, 40)}
TOTALS = {"digits": (1438, 359), "mnist5k": (4000, 1000), "mnist1d": (800, 200)}


def _rows(*xs: torch.Tensor) -> np.ndarray:
    """Rows of the inputs, sorted, so two collections compare as multisets."""
    flat = torch.cat([x.reshape(len(x), -1) for x in xs]).numpy()
    return flat[np.lexsort(flat.T[::-1])]


@pytest.mark.parametrize("name", ["digits", "mnist5k", "mnist1d"])
def test_shapes_dtypes_and_counts(name, small_mnist1d):
    ds = _loaders(small_mnist1d)[name](val_fraction=0.1)
    n_train, n_test = TOTALS[name]
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == SHAPES[name] and len(x) == len(y)
        assert int(y.min()) >= 0 and int(y.max()) <= 9
    assert ds.meta.input_shape == SHAPES[name] and ds.meta.num_classes == 10
    assert ds.meta.name == name
    assert len(ds.x_train) + len(ds.x_val) == n_train and len(ds.x_test) == n_test
    assert len(ds.x_val) == round(0.1 * n_train)
    assert ds.x_unlabeled is None
    assert torch.isfinite(ds.x_train).all()


@pytest.mark.parametrize("name", ["digits", "mnist5k", "mnist1d"])
def test_standardize_uses_training_statistics_only(name, small_mnist1d):
    load = _loaders(small_mnist1d)[name]
    raw, ds = load(normalize="none"), load(normalize="standardize")
    train = raw.x_train.double()
    assert ds.meta.mean == pytest.approx(train.mean().item(), rel=1e-6, abs=1e-9)
    assert ds.meta.std == pytest.approx(train.std(unbiased=False).item(), rel=1e-6)
    assert ds.x_train.double().mean().item() == pytest.approx(0.0, abs=1e-5)
    assert ds.x_train.double().std(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)
    for a, b in ((ds.x_val, raw.x_val), (ds.x_test, raw.x_test)):
        torch.testing.assert_close(a, ((b - ds.meta.mean) / ds.meta.std).float())
    # the test split was not part of the statistics: its mean is not exactly zero
    assert abs(ds.x_test.double().mean().item()) > 1e-4


@pytest.mark.parametrize(("name", "divisor"), [("digits", 16.0), ("mnist5k", 255.0)])
def test_unit_divides_by_the_raw_range(name, divisor):
    load = {"digits": digits, "mnist5k": mnist5k}[name]
    raw, ds = load(normalize="none"), load(normalize="unit")
    torch.testing.assert_close(ds.x_test, raw.x_test / divisor)
    assert (ds.meta.mean, ds.meta.std) == (0.0, divisor)
    assert float(raw.x_train.max()) == divisor and float(raw.x_train.min()) == 0.0


def test_unit_mnist1d_maps_train_range_to_zero_one(small_mnist1d):
    raw, ds = small_mnist1d(normalize="none"), small_mnist1d(normalize="unit")
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    for x in (ds.x_val, ds.x_test):
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert ds.meta.mean == pytest.approx(float(raw.x_train.min()))
    assert ds.meta.std == pytest.approx(float(raw.x_train.max() - raw.x_train.min()))


def test_val_split_is_stratified():
    ds = digits(val_fraction=0.2, split_seed=3)
    counts_train = np.bincount(ds.y_train.numpy(), minlength=10)
    counts_val = np.bincount(ds.y_val.numpy(), minlength=10)
    expected = 0.2 * (counts_train + counts_val)
    assert np.all(np.abs(counts_val - expected) < 1.0), (counts_val, expected)
    counts_test = np.bincount(ds.y_test.numpy(), minlength=10)
    total = counts_train + counts_val + counts_test
    assert np.all(np.abs(counts_test - 0.2 * total) < 1.0), (counts_test, 0.2 * total)


def test_stratified_split_quotas_and_min_per_class():
    y = np.repeat(np.arange(5), [3, 7, 11, 50, 29])
    rest, taken = stratified_split(y, 0.1, seed=1, min_per_class=1)
    assert sorted(np.concatenate([rest, taken]).tolist()) == list(range(len(y)))
    per_class = np.bincount(y[taken], minlength=5)
    assert np.all(per_class >= 1)
    assert np.all(per_class <= np.maximum(np.ceil(0.1 * np.bincount(y)), 1))
    again = stratified_split(y, 0.1, seed=1, min_per_class=1)
    assert np.array_equal(again[1], taken) and np.array_equal(again[0], rest)


def test_splits_are_deterministic_and_follow_split_seed():
    a, b = digits(split_seed=5), digits(split_seed=5)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    c = digits(split_seed=6)
    assert not np.array_equal(_rows(a.x_val), _rows(c.x_val))
    # the test split is fixed whatever split_seed says
    raw_a, raw_c = digits(split_seed=5, normalize="none"), digits(split_seed=6, normalize="none")
    assert torch.equal(raw_a.x_test, raw_c.x_test) and torch.equal(raw_a.y_test, raw_c.y_test)


def test_labels_fraction_keeps_a_stratified_labelled_subset_and_loses_nothing():
    full = digits(val_fraction=0.0, normalize="none")
    all_labels = digits(val_fraction=0.1, normalize="none", split_seed=2)
    ds = digits(val_fraction=0.1, labels_fraction=0.1, normalize="none", split_seed=2)
    n_rest = len(full.x_train) - len(ds.x_val)
    assert ds.x_unlabeled is not None
    assert len(ds.x_train) + len(ds.x_unlabeled) == n_rest
    assert abs(len(ds.x_train) - 0.1 * n_rest) <= 10
    assert set(ds.y_train.tolist()) == set(range(10))
    assert np.array_equal(_rows(ds.x_train, ds.x_val, ds.x_unlabeled), _rows(full.x_train))
    # the validation split does not depend on labels_fraction
    assert torch.equal(ds.x_val, all_labels.x_val) and torch.equal(ds.y_val, all_labels.y_val)
    assert len(ds.all_inputs) == n_rest


def test_labels_fraction_statistics_come_from_labelled_training_inputs():
    raw = mnist5k(labels_fraction=0.1, normalize="none")
    ds = mnist5k(labels_fraction=0.1)
    assert ds.meta.mean == pytest.approx(raw.x_train.double().mean().item(), rel=1e-6)
    assert ds.meta.mean != pytest.approx(raw.x_unlabeled.double().mean().item(), rel=1e-4)
    assert len(ds.x_train) == pytest.approx(360, abs=10)


def test_mnist1d_cache_is_read_back_and_keyed_by_arguments(tmp_path, monkeypatch):
    first = mnist1d(num_samples=1000, cache_dir=str(tmp_path))
    files = sorted(tmp_path.glob("mnist1d-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))

    def refuse(*args, **kwargs):
        raise AssertionError("make_dataset called although the cache holds these arguments")

    monkeypatch.setattr(mnist1d_data, "make_dataset", refuse)
    second = mnist1d(num_samples=1000, cache_dir=str(tmp_path))
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    monkeypatch.undo()

    mnist1d(num_samples=1000, seed=7, cache_dir=str(tmp_path))
    mnist1d(num_samples=1200, cache_dir=str(tmp_path))
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 3


def test_mnist1d_generation_seed_changes_the_samples(small_mnist1d):
    a, b = small_mnist1d(), small_mnist1d(seed=43)
    assert a.x_test.shape == b.x_test.shape and not torch.equal(a.x_test, b.x_test)


def test_mnist1d_regenerates_a_corrupt_cache_entry(tmp_path):
    good = mnist1d(num_samples=1000, cache_dir=str(tmp_path))
    (path,) = tmp_path.glob("mnist1d-*.npz")
    path.write_bytes(b"not a zip file")
    again = mnist1d(num_samples=1000, cache_dir=str(tmp_path))
    assert torch.equal(good.x_train, again.x_train)
    assert path.stat().st_size > 1000


def test_mnist1d_default_cache_dir_is_trainwell_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINWELL_CACHE", str(tmp_path / "cache"))
    mnist1d(num_samples=100)
    assert len(list((tmp_path / "cache").glob("mnist1d-*.npz"))) == 1


def test_mnist1d_leaves_global_random_state_alone(tmp_path):
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(), random.random())
    np.random.seed(123)
    random.seed(123)
    mnist1d(num_samples=100, cache_dir=str(tmp_path))
    assert (np.random.rand(), random.random()) == expected


def test_load_dataset_records_resolved_options(small_mnist1d):
    ds = load_dataset("digits", split_seed=4)
    assert ds.meta.options == {"val_fraction": 0.1, "labels_fraction": 1.0, "split_seed": 4,
                               "normalize": "standardize"}
    assert "sklearn" in ds.meta.source
    assert set(DESCRIPTIONS) == set(DATASETS)


@pytest.mark.parametrize(("name", "options", "key"), [
    ("digit", {}, "data.name"),
    ("digits", {"val_frac": 0.1}, "data.val_frac"),
    ("digits", {"val_fraction": 0.5}, "data.val_fraction"),
    ("digits", {"labels_fraction": 0.0}, "data.labels_fraction"),
    ("digits", {"normalize": "zscore"}, "data.normalize"),
    ("digits", {"split_seed": -1}, "data.split_seed"),
    ("mnist1d", {"num_samples": 50}, "data.num_samples"),
    ("mnist", {}, "data.path"),
])
def test_load_dataset_rejects_bad_options(name, options, key):
    with pytest.raises(ConfigError) as info:
        load_dataset(name, **options)
    assert info.value.key == key and key in str(info.value)


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(ConfigError, match="did you mean 'digits'"):
        load_dataset("digit")


@pytest.mark.parametrize(("options", "key"), [
    ({"val_fraction": 0.6}, "data.val_fraction"),
    ({"labels_fraction": 1.5}, "data.labels_fraction"),
    ({"normalize": "minmax"}, "data.normalize"),
])
def test_direct_calls_check_shared_options(options, key):
    with pytest.raises(ConfigError) as info:
        digits(**options)
    assert info.value.key == key
