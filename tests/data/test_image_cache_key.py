"""The image cache's key stays honest on a cached read: a changed, added or removed file is
never served from the old cache; a resolved recipe's digest (the listing taken when it was
planned) finds its cache without listing the folder again."""

import os
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from trainwell.data import load_dataset, resolve_data
from trainwell.data.image_cache import list_images


def _write(folder, n=10):
    rng = np.random.default_rng(0)
    for i, c in enumerate(("ant", "bee")):
        os.makedirs(folder / c, exist_ok=True)
        for j in range(n):
            pixels = np.clip(40 + 80 * i + rng.integers(-5, 6, (6, 6)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(folder / c / f"{j}.png")


def _load(tmp_path, cache="c", **kw):
    return load_dataset("images", path=str(tmp_path / "pics"), cache_dir=str(tmp_path / cache),
                        normalize="none", val_fraction=0.0, test_fraction=0.2, **kw)


def _pixels(ds):
    return torch.cat([ds.x_train, ds.x_test]).sum().item()


def _caches(tmp_path):
    return sorted(p.name for p in (tmp_path / "c").glob("images-*.npy"))


@pytest.fixture
def pics(tmp_path):
    _write(tmp_path / "pics")
    first = _load(tmp_path)
    again = _load(tmp_path)  # from the cache
    assert torch.equal(first.x_train, again.x_train) and len(_caches(tmp_path)) == 1
    return tmp_path


def _changed(tmp_path):
    """A file rewritten in place with new pixels (same name, same size, later mtime)."""
    f = tmp_path / "pics" / "ant" / "0.png"
    before = f.stat()
    Image.fromarray(np.full((6, 6), 250, np.uint8), "L").save(f)
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))


def test_a_file_changed_in_place_is_read_again(pics):
    before = _pixels(_load(pics))
    _changed(pics)
    after = _load(pics)
    assert len(_caches(pics)) == 2
    assert _pixels(after) != before
    assert torch.equal(after.x_train, _load(pics, cache="fresh").x_train)


def test_an_added_or_removed_file_is_read_again(pics):
    Image.fromarray(np.zeros((6, 6), np.uint8), "L").save(pics / "pics" / "bee" / "new.png")
    added = _load(pics)
    assert len(added.x_train) + len(added.x_test) == 21
    (pics / "pics" / "ant" / "3.png").unlink()
    (pics / "pics" / "ant" / "4.png").unlink()
    removed = _load(pics)
    assert len(removed.x_train) + len(removed.x_test) == 19
    assert len(_caches(pics)) == 3


def test_a_resolved_digest_finds_its_cache_and_a_new_digest_its_own(pics, monkeypatch):
    options = resolve_data("images", {"path": str(pics / "pics"), "cache_dir": str(pics / "c"),
                                      "normalize": "none"})
    assert options["digest"] == list_images(pics / "pics").digest
    with monkeypatch.context() as m:  # the digest is the listing: none is taken again
        m.setattr(sys.modules["trainwell.data.images"], "list_images", None)
        known = load_dataset("images", **options)
    assert known.meta.source.endswith("(20 train)")
    _changed(pics)
    fresh = resolve_data("images", {"path": str(pics / "pics"), "cache_dir": str(pics / "c"),
                                    "normalize": "none"})
    assert fresh["digest"] != options["digest"]
    assert _pixels(load_dataset("images", **fresh)) != _pixels(known)


def test_a_deleted_cache_is_written_again(pics):
    for f in (pics / "c").glob("images-*"):
        f.unlink()
    ds = _load(pics)
    assert len(ds.x_train) + len(ds.x_test) == 20 and len(_caches(pics)) == 1
