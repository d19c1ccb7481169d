"""data.classes and data.labels_per_class: which samples are kept, how they are relabelled, errors."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from trainwell.data import digits, load_dataset, mnist1d, mnist5k, mnist_files
from trainwell.errors import ConfigError

# MNIST-1D with 1,000 samples is generated once into the session's cache (tests/conftest.py).
LOADERS = {"digits": digits, "mnist5k": mnist5k,
           "mnist1d": functools.partial(mnist1d, num_samples=1000)}
EXTRA = {"digits": {}, "mnist5k": {}, "mnist1d": {"num_samples": 1000}}
NAMES = list(LOADERS)
UPPER = [5, 6, 7, 8, 9]


def _rows(*xs: torch.Tensor) -> np.ndarray:
    """Rows of the inputs, sorted, so two collections compare as multisets."""
    flat = torch.cat([x.reshape(len(x), -1) for x in xs]).numpy()
    return flat[np.lexsort(flat.T[::-1])]


def _of_class(x: torch.Tensor, y: torch.Tensor, c: int) -> torch.Tensor:
    return x[y == c]


@pytest.mark.parametrize("name", NAMES)
def test_labels_per_class_keeps_exactly_n_per_class(name):
    load = LOADERS[name]
    full = load(normalize="none", split_seed=1)
    ds = load(normalize="none", split_seed=1, labels_per_class=7)
    assert np.bincount(ds.y_train.numpy(), minlength=10).tolist() == [7] * 10
    # the labelled samples are taken from the training split, the rest become unlabelled
    assert ds.x_unlabeled is not None and len(ds.x_unlabeled) == len(full.x_train) - 70
    assert np.array_equal(_rows(ds.x_train, ds.x_unlabeled), _rows(full.x_train))
    for c in range(10):
        kept = _rows(_of_class(ds.x_train, ds.y_train, c))
        pool = _rows(_of_class(full.x_train, full.y_train, c))
        assert all((pool == row).all(axis=1).any() for row in kept), c
    # validation and test are untouched
    for split in ("x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(ds, split), getattr(full, split)), split
    assert ds.meta.num_classes == 10 and ds.meta.classes is None
    assert ds.meta.options["labels_per_class"] == 7


@pytest.mark.parametrize("name", NAMES)
def test_labels_per_class_follows_split_seed(name):
    load = LOADERS[name]
    a, b = load(labels_per_class=3, split_seed=4), load(labels_per_class=3, split_seed=4)
    for split in ("x_train", "y_train", "x_unlabeled", "x_val", "x_test"):
        assert torch.equal(getattr(a, split), getattr(b, split)), split
    # without a validation split the seed has only the labelled samples left to choose
    c = load(labels_per_class=3, split_seed=5, normalize="none", val_fraction=0.0)
    d = load(labels_per_class=3, split_seed=4, normalize="none", val_fraction=0.0)
    assert not np.array_equal(_rows(c.x_train), _rows(d.x_train))


@pytest.mark.parametrize("name", NAMES)
def test_classes_relabels_in_the_order_given_and_keeps_exactly_those_samples(name):
    load = LOADERS[name]
    full = load(normalize="none", val_fraction=0.0)
    ds = load(normalize="none", val_fraction=0.2, classes=UPPER)
    assert ds.meta.num_classes == 5 and ds.meta.classes == (5, 6, 7, 8, 9)
    assert ds.meta.class_map == {5: 0, 6: 1, 7: 2, 8: 3, 9: 4}
    assert ds.meta.options["classes"] == UPPER and ds.x_unlabeled is None
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert sorted(y.unique().tolist()) == [0, 1, 2, 3, 4]
    for label, original in enumerate(UPPER):
        seen = torch.cat([_of_class(ds.x_train, ds.y_train, label),
                          _of_class(ds.x_val, ds.y_val, label)])
        assert np.array_equal(_rows(seen), _rows(_of_class(full.x_train, full.y_train, original)))
        assert np.array_equal(_rows(_of_class(ds.x_test, ds.y_test, label)),
                              _rows(_of_class(full.x_test, full.y_test, original)))
    kept = int(np.isin(full.y_train.numpy(), UPPER).sum())
    assert len(ds.x_train) + len(ds.x_val) == kept < len(full.x_train)


def test_classes_order_is_the_label_order():
    forward, backward = digits(classes=[2, 7], normalize="none"), digits(classes=[7, 2],
                                                                         normalize="none")
    assert backward.meta.classes == (7, 2)
    # the same samples in the same places; only the names 0 and 1 swap
    assert torch.equal(forward.x_test, backward.x_test)
    assert torch.equal(forward.y_test, 1 - backward.y_test)
    full = digits(normalize="none")
    assert np.array_equal(_rows(_of_class(backward.x_test, backward.y_test, 0)),
                          _rows(_of_class(full.x_test, full.y_test, 7)))


@pytest.mark.parametrize("name", NAMES)
def test_classes_then_labels_per_class(name):
    load = LOADERS[name]
    full = load(normalize="none", val_fraction=0.0)
    ds = load(normalize="none", classes=[3, 0, 8], labels_per_class=4)
    assert np.bincount(ds.y_train.numpy(), minlength=3).tolist() == [4, 4, 4]
    assert ds.meta.num_classes == 3
    # the unlabelled inputs come from the kept classes only
    pool = _rows(full.x_train[np.isin(full.y_train.numpy(), [3, 0, 8])])
    assert ds.x_unlabeled is not None and len(ds.x_unlabeled) > 0
    assert np.array_equal(_rows(ds.x_train, ds.x_val, ds.x_unlabeled), pool)


def test_labels_per_class_statistics_come_from_the_labelled_samples():
    raw = digits(labels_per_class=5, normalize="none")
    ds = digits(labels_per_class=5)
    assert ds.meta.mean == pytest.approx(raw.x_train.double().mean().item(), rel=1e-6)
    assert ds.meta.mean != pytest.approx(raw.x_unlabeled.double().mean().item(), rel=1e-3)


def test_validation_split_does_not_depend_on_labels_per_class():
    a = digits(classes=[1, 4], normalize="none", split_seed=3)
    b = digits(classes=[1, 4], normalize="none", split_seed=3, labels_per_class=2)
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.y_val, b.y_val)
    assert len(b.x_train) == 4 and len(b.x_unlabeled) == len(a.x_train) - 4


def test_mnist1d_cache_does_not_depend_on_the_subset(tmp_path):
    full = mnist1d(num_samples=1000, cache_dir=str(tmp_path), normalize="none", val_fraction=0.0)
    sub = mnist1d(num_samples=1000, cache_dir=str(tmp_path), normalize="none", val_fraction=0.0,
                  classes=[9, 1], labels_per_class=10)
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1
    assert np.array_equal(_rows(sub.x_test), _rows(full.x_test[(full.y_test == 9)
                                                               | (full.y_test == 1)]))


def _available(name: str, classes: list[int] | None = None) -> int:
    """The fewest training samples any kept class has after the validation split."""
    ds = LOADERS[name](classes=classes)
    return int(np.bincount(ds.y_train.numpy()).min())


BAD = [
    ({"classes": [5, 6, 5]}, "data.classes", "5 is listed twice"),
    ({"classes": [3, 10]}, "data.classes", "10 is not a class"),
    ({"classes": [-1, 3]}, "data.classes", "-1 is not a class"),
    ({"classes": [4]}, "data.classes", "at least 2"),
    ({"classes": []}, "data.classes", "at least 2"),
    ({"classes": ["a", 1]}, "data.classes", "not an integer"),
    ({"labels_per_class": 0}, "data.labels_per_class", ""),
    ({"labels_per_class": 3, "labels_fraction": 0.5}, "data.labels_per_class",
     "labels_fraction"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("options", "key", "says"), BAD)
def test_bad_values_are_rejected(name, options, key, says):
    for load in (functools.partial(load_dataset, name, **EXTRA[name]), LOADERS[name]):
        with pytest.raises(ConfigError) as info:
            load(**options)
        assert info.value.key == key and key in str(info.value)
        assert says in str(info.value)
        assert info.value.value == options[key.removeprefix("data.")]


@pytest.mark.parametrize("name", NAMES)
def test_labels_per_class_beyond_a_class_names_the_count(name):
    most = _available(name)
    for load in (functools.partial(load_dataset, name, **EXTRA[name]), LOADERS[name]):
        with pytest.raises(ConfigError, match=f"at most {most}: class \\d has {most} ") as info:
            load(labels_per_class=most + 1)
        assert info.value.key == "data.labels_per_class"
    assert len(LOADERS[name](labels_per_class=most).x_train) == 10 * most


def test_labels_per_class_beyond_a_kept_class_names_its_original_id():
    most = _available("digits", [8, 3])
    with pytest.raises(ConfigError, match=f"class [38] has {most} ") as info:
        digits(classes=[8, 3], labels_per_class=most + 1)
    assert info.value.key == "data.labels_per_class"


def _files_helpers():
    """tests/data/test_files.py, whose helpers write IDX files (tests are not a package)."""
    path = Path(__file__).with_name("test_files.py")
    spec = importlib.util.spec_from_file_location("trainwell_tests_data_files", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_idx_files_classes(tmp_path):
    train_x, train_y, test_x, test_y = _files_helpers().make_mnist(tmp_path)
    ds = mnist_files(path=str(tmp_path), normalize="none", classes=[7, 2], labels_per_class=3)
    assert ds.meta.num_classes == 2 and ds.meta.classes == (7, 2)
    assert np.bincount(ds.y_train.numpy()).tolist() == [3, 3]
    for label, original in enumerate([7, 2]):
        expected = test_x[test_y == original][:, None].astype(np.float32)
        np.testing.assert_array_equal(_rows(ds.x_test[ds.y_test == label]),
                                      _rows(torch.from_numpy(expected)))
    seen = torch.cat([ds.x_train, ds.x_val, ds.x_unlabeled])
    kept = train_x[np.isin(train_y, [7, 2])][:, None].astype(np.float32)
    np.testing.assert_array_equal(_rows(seen), _rows(torch.from_numpy(kept)))
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist", path=str(tmp_path), classes=[7, 7])
    assert info.value.key == "data.classes"


def test_recipe_with_a_subset_trains_a_model_with_k_outputs(one_thread):
    from trainwell.execute import RunContext, execute
    from trainwell.recipe import Recipe

    recipe = Recipe.from_dict({"data": {"name": "digits", "classes": [0, 1, 2],
                                        "labels_per_class": 5}, "train": {"epochs": 1}})
    assert recipe.data.options["classes"] == [0, 1, 2]
    assert recipe.data.options["labels_per_class"] == 5
    # left out while unset, so recipes without them keep their run ids
    assert "classes" not in Recipe.from_dict({"data": {"name": "digits"}}).to_dict()["data"]
    out = execute(recipe, RunContext(keep_model=True))
    assert out.status == "done" and out.model is not None
    x = digits(classes=[0, 1, 2]).x_test[:4]
    with torch.no_grad():
        assert out.model(x).shape == (4, 3)
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict({"data": {"name": "digits", "classes": [0, 11]}})
    assert info.value.key == "data.classes"
