"""Image folders: the class-folder layouts, formats, resizing, the uint8 cache, broken images."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from trainwell.data import load_dataset
from trainwell.data.images import DataWarning, image_cache, load_image_folder
from trainwell.errors import ConfigError


def _write(folder, classes=("cat", "dog"), n=12, size=(10, 8), mode="L", ext="png", seed=0):
    """``n`` images per class; class ``i``'s pixels are all near ``40 + 80 i``."""
    rng = np.random.default_rng(seed)
    for i, c in enumerate(classes):
        os.makedirs(folder / c, exist_ok=True)
        for j in range(n):
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            pixels = np.clip(40 + 80 * i + rng.integers(-5, 6, shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode).save(folder / c / f"{j}.{ext}")


def test_class_folders_become_classes_and_pixels_are_kept(tmp_path):
    _write(tmp_path / "pics")
    ds = load_dataset("images", path=str(tmp_path / "pics"), normalize="unit",
                      cache_dir=str(tmp_path / "cache"))
    assert ds.meta.class_names == ("cat", "dog") and ds.meta.input_shape == (1, 8, 10)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 24
    for label, centre in ((0, 40), (1, 120)):
        mean = float(torch.cat([ds.x_train[ds.y_train == label]]).mean()) * 255
        assert abs(mean - centre) < 2


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "webp"])
def test_formats(tmp_path, ext):
    _write(tmp_path / "pics", mode="RGB", ext=ext, n=5)
    ds = load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"),
                      test_fraction=0.2, val_fraction=0.0)
    assert ds.meta.input_shape == (3, 8, 10)


def test_train_val_test_folders(tmp_path):
    for split, n in (("train", 10), ("val", 3), ("test", 4)):
        _write(tmp_path / "pics" / split, n=n)
    ds = load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"))
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (20, 6, 8)


def test_size_and_channels(tmp_path):
    _write(tmp_path / "pics", size=(10, 8))
    ds = load_dataset("images", path=str(tmp_path / "pics"), size=[4, 6], channels=3,
                      cache_dir=str(tmp_path / "c"))
    assert ds.meta.input_shape == (3, 4, 6)


def test_cache_is_written_once_and_read_memory_mapped(tmp_path):
    _write(tmp_path / "pics")
    cache = str(tmp_path / "c")
    npy, there = image_cache(str(tmp_path / "pics"), cache_dir=cache)
    assert not there
    _, first, _, hit = load_image_folder(str(tmp_path / "pics"), cache_dir=cache)
    assert not hit and npy.is_file()
    _, again, _, hit = load_image_folder(str(tmp_path / "pics"), cache_dir=cache)
    assert hit and isinstance(again, np.memmap) and again.dtype == np.uint8
    assert np.array_equal(first, again)
    # a new file changes the listing, so the cache key and the digest
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(tmp_path / "pics" / "cat" / "new.png")
    assert not image_cache(str(tmp_path / "pics"), cache_dir=cache)[1]


def test_mixed_sizes_need_size(tmp_path):
    _write(tmp_path / "pics", size=(10, 8))
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "pics" / "dog" / "small.png")
    with pytest.raises(ConfigError, match=r"data\.size = None.*different sizes.*small\.png"):
        load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"))
    ds = load_dataset("images", path=str(tmp_path / "pics"), size=[8, 8],
                      cache_dir=str(tmp_path / "c"))
    assert ds.meta.input_shape == (1, 8, 8)


@pytest.mark.parametrize("shape", [{}, {"size": [8, 10], "channels": 1}],
                         ids=["read-headers-first", "decode-only"])
def test_broken_image_is_named_or_skipped(tmp_path, shape):
    _write(tmp_path / "pics")
    (tmp_path / "pics" / "dog" / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(ConfigError, match=r"data\.path = '.*bad\.png'.*skip_broken"):
        load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"),
                     **shape)
    with pytest.warns(DataWarning, match=r"1 broken image\(s\) skipped.*bad\.png"):
        ds = load_dataset("images", path=str(tmp_path / "pics"), skip_broken=True,
                          cache_dir=str(tmp_path / "c"), **shape)
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 24


def test_truncated_image_is_named(tmp_path):
    _write(tmp_path / "pics", size=(64, 64))
    good = (tmp_path / "pics" / "cat" / "0.png").read_bytes()
    (tmp_path / "pics" / "cat" / "0.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ConfigError, match=r"0\.png"):
        load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"))


def test_empty_class_folder(tmp_path):
    _write(tmp_path / "pics")
    os.makedirs(tmp_path / "pics" / "empty")
    with pytest.raises(ConfigError, match=r"images in every class folder.*empty"):
        load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"))


def test_one_class_only(tmp_path):
    _write(tmp_path / "pics", classes=("only",))
    with pytest.raises(ConfigError, match=r"at least two classes.*'only'"):
        load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / "c"))


def test_one_pass_with_size_keeps_grey_folders_grey_and_greys_mixed_ones(tmp_path):
    _write(tmp_path / "pics", n=6)
    grey = load_dataset("images", path=str(tmp_path / "pics"), size=[8, 10], normalize="none",
                        cache_dir=str(tmp_path / "c"), val_fraction=0.0)
    assert grey.meta.input_shape == (1, 8, 10)
    Image.fromarray(np.full((8, 10, 3), (200, 10, 10), np.uint8)).save(
        tmp_path / "pics" / "dog" / "red.png")
    mixed = load_dataset("images", path=str(tmp_path / "pics"), size=[8, 10], normalize="none",
                         cache_dir=str(tmp_path / "c"), val_fraction=0.0)
    assert mixed.meta.input_shape == (3, 8, 10)
    x = torch.cat([mixed.x_train, mixed.x_test])
    red = (x[:, 0] == 200).all(dim=(1, 2)) & (x[:, 1] == 10).all(dim=(1, 2))
    assert int(red.sum()) == 1
    others = x[~red]
    assert torch.equal(others[:, 0], others[:, 1]) and torch.equal(others[:, 1], others[:, 2])
