"""Datasets from standard files on disk: MNIST-format IDX and the CIFAR-10 binary version.

Nothing is downloaded: the user points ``path`` at a folder that already holds the files.
Both loaders take the shared options (``val_fraction``, ``labels_fraction``, ``split_seed``,
``normalize``, ``classes``, ``labels_per_class``) of
:func:`~trainwell.data.prepare.prepare_dataset`.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from trainwell.data.dataset import Dataset
from trainwell.data.prepare import (
    Classes,
    LabelsFraction,
    LabelsPerClass,
    Normalize,
    SplitSeed,
    ValFraction,
    prepare_dataset,
)
from trainwell.errors import ConfigError, TrainwellError

__all__ = ["read_idx", "mnist_files", "cifar10_files"]

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CIFAR_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
_CIFAR_RECORD = 1 + 3 * 32 * 32


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (``idx1``/``idx3``-``ubyte`` and the other IDX types), gzipped or not.

    Layout: two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
    0x0D float, 0x0E double), a rank byte ``d``, ``d`` big-endian uint32 sizes, then the data
    big-endian in C order. Gzip is recognised by its content, not by the ``.gz`` suffix.

    Reference: LeCun, Cortes & Burges, "The MNIST database of handwritten digits", 1998.

    >>> read_idx("train-labels-idx1-ubyte").shape  # doctest: +SKIP
    (60000,)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrainwellError(f"{path}: cannot read IDX file ({exc.strerror or exc})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise TrainwellError(f"{path}: corrupt gzip data ({exc})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES:
        magic = data[:4].hex() or "empty"
        raise TrainwellError(f"{path}: not an IDX file (magic number 0x{magic}; expected "
                             "0x0000, a type byte 08/09/0B/0C/0D/0E and a rank byte)")
    rank = data[3]
    start = 4 + 4 * rank
    if len(data) < start:
        raise TrainwellError(f"{path}: IDX header truncated ({len(data)} bytes, rank {rank})")
    shape = struct.unpack(f">{rank}I", data[4:start])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = start + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise TrainwellError(f"{path}: wrong size, {len(data)} bytes where the header "
                             f"(shape {tuple(shape)}, {dtype.name}) needs {expected}")
    array = np.frombuffer(data, dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def mnist_files(*, path: str, val_fraction: ValFraction = 0.1,
                labels_fraction: LabelsFraction = 1.0, split_seed: SplitSeed = 0,
                normalize: Normalize = "standardize", classes: Classes = None,
                labels_per_class: LabelsPerClass = None) -> Dataset:
    """MNIST (or Fashion-MNIST, KMNIST: the same layout) from the four IDX files in ``path``.

    Expects ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``); ``.idx3-ubyte`` with a
    dot is accepted too. Inputs are shaped ``(N, 1, rows, cols)``; ``normalize="unit"``
    divides by 255. ``classes`` keeps some classes (e.g. ``[0, 6]``, T-shirts and shirts of
    Fashion-MNIST), relabelled in the order given; ``labels_per_class`` keeps that many
    labelled training images of each class and makes the rest unlabelled.

    Reference: LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document
    Recognition", 1998.

    >>> ds = mnist_files(path="~/data/mnist")  # doctest: +SKIP
    >>> ds.x_train.shape  # doctest: +SKIP
    torch.Size([54000, 1, 28, 28])
    """
    folder = _folder(path, _MNIST_FILES, "each optionally .gz")
    found = {name: _find_idx(folder, name, path) for name in _MNIST_FILES}
    arrays = []
    for images_name, labels_name in (_MNIST_FILES[:2], _MNIST_FILES[2:]):
        images, labels = read_idx(found[images_name]), read_idx(found[labels_name])
        if images.ndim != 3 or images.dtype != np.uint8 or len(images) == 0:
            raise TrainwellError(f"{found[images_name]}: expected uint8 images (N, rows, cols), "
                                 f"got {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise TrainwellError(f"{found[labels_name]}: expected {len(images)} labels, one per "
                                 f"image in {found[images_name].name}; got shape {labels.shape}")
        _check_labels(labels, found[labels_name])
        arrays += [images[:, None], labels]
    return prepare_dataset(
        *arrays, name="mnist", num_classes=10, source=f"MNIST IDX files in {folder}",
        options={"path": path}, unit_range=(0.0, 255.0), val_fraction=val_fraction,
        labels_fraction=labels_fraction, split_seed=split_seed, normalize=normalize,
        classes=classes, labels_per_class=labels_per_class,
    )


def cifar10_files(*, path: str, val_fraction: ValFraction = 0.1,
                  labels_fraction: LabelsFraction = 1.0, split_seed: SplitSeed = 0,
                  normalize: Normalize = "standardize", classes: Classes = None,
                  labels_per_class: LabelsPerClass = None) -> Dataset:
    """CIFAR-10 (binary version) from ``data_batch_1.bin`` ... ``_5.bin`` and ``test_batch.bin``.

    Each record is one label byte and 3,072 pixel bytes (1,024 red, then green, then blue,
    rows in order), so inputs are shaped ``(N, 3, 32, 32)``. ``path`` is the
    ``cifar-10-batches-bin`` folder or the folder that contains it; ``normalize="unit"``
    divides by 255, ``"standardize"`` uses one scalar mean and std over all channels.
    ``classes`` keeps some classes (e.g. ``[3, 5]``, cats and dogs), relabelled in the order
    given; ``labels_per_class`` keeps that many labelled training images of each class and
    makes the rest unlabelled.

    Reference: Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.

    >>> ds = cifar10_files(path="~/data/cifar-10-batches-bin")  # doctest: +SKIP
    >>> ds.x_test.shape  # doctest: +SKIP
    torch.Size([10000, 3, 32, 32])
    """
    folder = _folder(path, _CIFAR_FILES, "the binary version")
    if not (folder / _CIFAR_FILES[0]).exists() and (folder / "cifar-10-batches-bin").is_dir():
        folder = folder / "cifar-10-batches-bin"
    missing = [n for n in _CIFAR_FILES if not (folder / n).is_file()]
    if missing:
        raise ConfigError("data.path", path, f"a folder holding {', '.join(_CIFAR_FILES)}; "
                          f"missing in {folder}: {', '.join(missing)}")
    parts = [_read_cifar_batch(folder / n) for n in _CIFAR_FILES]
    x_train = np.concatenate([p[0] for p in parts[:-1]])
    y_train = np.concatenate([p[1] for p in parts[:-1]])
    return prepare_dataset(
        x_train, y_train, *parts[-1], name="cifar10", num_classes=10,
        source=f"CIFAR-10 binary files in {folder}", options={"path": path},
        unit_range=(0.0, 255.0), val_fraction=val_fraction, labels_fraction=labels_fraction,
        split_seed=split_seed, normalize=normalize, classes=classes,
        labels_per_class=labels_per_class,
    )


def _folder(path: str | os.PathLike[str], expected: tuple[str, ...], note: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError("data.path", str(path), f"an existing folder holding "
                          f"{', '.join(expected)} ({note}); {folder} is not a folder")
    return folder


def _find_idx(folder: Path, name: str, path: str) -> Path:
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise ConfigError("data.path", str(path), f"a folder holding {', '.join(_MNIST_FILES)} "
                      f"(each optionally .gz); {name} is missing in {folder}")


def _read_cifar_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.fromfile(file, dtype=np.uint8)
    if data.size == 0 or data.size % _CIFAR_RECORD:
        raise TrainwellError(f"{file}: wrong size, {data.size} bytes is not a whole number of "
                             f"{_CIFAR_RECORD}-byte CIFAR-10 records (1 label + 3072 pixels)")
    records = data.reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    _check_labels(labels, file)
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _check_labels(labels: np.ndarray, file: Path) -> None:
    bad = labels[(labels < 0) | (labels > 9)]
    if bad.size:
        raise TrainwellError(f"{file}: labels must be 0-9, found {int(bad[0])}")
