"""IDX and CIFAR-10 binary files: round trips on files written here, clear errors on bad ones."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from trainwell.data import cifar10_files, load_dataset, mnist_files, read_idx
from trainwell.errors import ConfigError, TrainwellError

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B,
             np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    """The IDX layout written by hand: 0x0000, type byte, rank byte, big-endian sizes, data."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    head = bytes([0, 0, IDX_CODES[big.dtype], array.ndim])
    head += struct.pack(f">{array.ndim}I", *array.shape)
    data = head + big.tobytes()
    if gz:
        path, data = path.with_name(path.name + ".gz"), gzip.compress(data)
    path.write_bytes(data)
    return path


def make_mnist(folder: Path, *, rows: int = 6, cols: int = 5, gz: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    train_x = rng.integers(0, 256, (200, rows, cols), dtype=np.uint8)
    train_y = np.tile(np.arange(10, dtype=np.uint8), 20)
    test_x = rng.integers(0, 256, (50, rows, cols), dtype=np.uint8)
    test_y = np.tile(np.arange(10, dtype=np.uint8), 5)
    folder.mkdir(exist_ok=True)
    for name, array in zip(MNIST_NAMES, (train_x, train_y, test_x, test_y), strict=True):
        write_idx(folder / name, array, gz=gz)
    return train_x, train_y, test_x, test_y


def _rows(x) -> np.ndarray:
    flat = np.asarray(x).reshape(len(x), -1)
    return flat[np.lexsort(flat.T[::-1])]


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((4, 3, 2)) * 100).astype(np.dtype(dtype).newbyteorder("="))
    path = write_idx(tmp_path / "a-idx3", array, gz=gz)
    back = read_idx(path)
    assert back.shape == (4, 3, 2) and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_read_idx_rejects_bad_magic_and_wrong_size(tmp_path):
    bad = tmp_path / "bad-idx1-ubyte"
    bad.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(TrainwellError, match="bad-idx1-ubyte.*magic"):
        read_idx(bad)
    short = write_idx(tmp_path / "short-idx1-ubyte", np.arange(10, dtype=np.uint8))
    short.write_bytes(short.read_bytes()[:-1])
    with pytest.raises(TrainwellError, match="short-idx1-ubyte.*wrong size"):
        read_idx(short)
    with pytest.raises(TrainwellError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_files_round_trip(tmp_path, gz):
    train_x, train_y, test_x, test_y = make_mnist(tmp_path / "m", gz=gz)
    ds = mnist_files(path=str(tmp_path / "m"), normalize="none", val_fraction=0.1)
    assert ds.x_test.shape == (50, 1, 6, 5) and ds.x_test.dtype == torch.float32
    assert ds.y_test.dtype == torch.int64 and ds.meta.input_shape == (1, 6, 5)
    np.testing.assert_array_equal(ds.x_test.numpy(), test_x[:, None].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test.numpy(), test_y)
    assert len(ds.x_train) == 180 and len(ds.x_val) == 20
    assert np.bincount(ds.y_val.numpy(), minlength=10).tolist() == [2] * 10
    seen = torch.cat([ds.x_train, ds.x_val]).squeeze(1).numpy()
    np.testing.assert_array_equal(_rows(seen), _rows(train_x.astype(np.float32)))


def test_mnist_files_normalization_and_options(tmp_path):
    make_mnist(tmp_path)
    unit = load_dataset("mnist", path=str(tmp_path), normalize="unit")
    raw = load_dataset("mnist", path=str(tmp_path), normalize="none")
    torch.testing.assert_close(unit.x_test, raw.x_test / 255.0)
    std = load_dataset("mnist", path=str(tmp_path))
    assert std.x_train.double().mean().item() == pytest.approx(0.0, abs=1e-5)
    assert std.meta.options["path"] == str(tmp_path) and std.meta.name == "mnist"


def test_mnist_files_accepts_dotted_names(tmp_path):
    make_mnist(tmp_path)
    for path in tmp_path.iterdir():
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert len(mnist_files(path=str(tmp_path)).x_test) == 50


def test_mnist_files_missing_folder_and_file(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.*train-images-idx3-ubyte.*t10k-labels") as info:
        mnist_files(path=str(tmp_path / "nowhere"))
    assert info.value.key == "data.path"
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ConfigError, match="t10k-labels-idx1-ubyte is missing"):
        mnist_files(path=str(tmp_path))


def test_mnist_files_malformed(tmp_path):
    _, train_y, _, _ = make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", train_y[:-1])
    with pytest.raises(TrainwellError, match="train-labels-idx1-ubyte.*200 labels"):
        mnist_files(path=str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte", train_y + 5)
    with pytest.raises(TrainwellError, match="train-labels-idx1-ubyte.*0-9"):
        mnist_files(path=str(tmp_path))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    write_idx(tmp_path / "train-labels-idx1-ubyte", train_y)
    with pytest.raises(TrainwellError, match="t10k-images-idx3-ubyte"):
        mnist_files(path=str(tmp_path))


def make_cifar(folder: Path, *, per_batch: int = 20, n_test: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = []
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        n = n_test if name == "test_batch.bin" else per_batch
        labels = np.arange(n, dtype=np.uint8) % 10
        pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        pixels[0, :1024], pixels[0, 1024:2048], pixels[0, 2048:] = 10, 20, 30
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        batches.append((pixels, labels))
    return batches


def test_cifar10_round_trip_and_channel_order(tmp_path):
    batches = make_cifar(tmp_path / "cifar-10-batches-bin")
    ds = cifar10_files(path=str(tmp_path), normalize="none", val_fraction=0.2)
    test_pixels, test_labels = batches[-1]
    assert ds.x_test.shape == (30, 3, 32, 32) and ds.meta.input_shape == (3, 32, 32)
    np.testing.assert_array_equal(ds.x_test.numpy(), test_pixels.reshape(30, 3, 32, 32))
    np.testing.assert_array_equal(ds.y_test.numpy(), test_labels)
    assert [float(ds.x_test[0, c].unique()) for c in range(3)] == [10.0, 20.0, 30.0]
    assert len(ds.x_train) + len(ds.x_val) == 100 and len(ds.x_val) == 20
    train = np.concatenate([b[0] for b in batches[:-1]])
    seen = torch.cat([ds.x_train, ds.x_val]).reshape(100, -1).numpy()
    np.testing.assert_array_equal(_rows(seen), _rows(train.astype(np.float32)))


def test_cifar10_via_load_dataset_standardizes(tmp_path):
    make_cifar(tmp_path)
    ds = load_dataset("cifar10", path=str(tmp_path))
    assert ds.x_train.double().std(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)
    assert ds.meta.std == pytest.approx(255 / 12 ** 0.5, rel=0.05)


def test_cifar10_missing_and_malformed(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.*data_batch_1.bin.*test_batch.bin"):
        cifar10_files(path=str(tmp_path / "nowhere"))
    make_cifar(tmp_path)
    (tmp_path / "test_batch.bin").unlink()
    with pytest.raises(ConfigError, match="missing.*test_batch.bin"):
        cifar10_files(path=str(tmp_path))
    (tmp_path / "test_batch.bin").write_bytes(bytes(3073 * 2 + 5))
    with pytest.raises(TrainwellError, match="test_batch.bin.*wrong size"):
        cifar10_files(path=str(tmp_path))
    (tmp_path / "test_batch.bin").write_bytes(bytes([12]) + bytes(3072))
    with pytest.raises(TrainwellError, match="test_batch.bin.*0-9"):
        cifar10_files(path=str(tmp_path))
