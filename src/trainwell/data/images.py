"""A folder of images sorted into class folders, decoded once into a memory-mapped uint8 cache.

``path`` holds one subfolder per class (the layout of torchvision's ``ImageFolder`` and Keras'
``image_dataset_from_directory``), or ``train/``, ``val/`` and ``test/`` each holding the same
class subfolders. PNG, JPEG, BMP and WebP files are read through Pillow; class names are the
folder names, sorted. The first read decodes every image (a few threads at once) into the
cache of :mod:`trainwell.data.image_cache`; later reads map that file and start in a moment.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pydantic

from trainwell.data.builtin import cache_dir_default
from trainwell.data.dataset import Dataset
from trainwell.data.image_cache import (
    Listing,
    cache_paths,
    finish_cache,
    list_images,
    new_cache,
    read_cache,
)
from trainwell.data.prepare import LabelsFraction, LabelsPerClass, Normalize, SplitSeed, ValFraction
from trainwell.data.splits import Digest, TestFraction, UserClasses
from trainwell.data.stored import cached_dataset
from trainwell.errors import ConfigError

__all__ = ["images", "load_image_folder", "image_cache", "ImageSize", "InMemory", "DataWarning"]


def _in_memory(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value == "auto":  # the default, left out of the recipe like every unset option
        return None
    raise ValueError("true, false or \"auto\"")


InMemory = Annotated[bool | None, pydantic.PlainValidator(_in_memory)]
"""``data.in_memory``: ``true``, ``false`` or ``"auto"`` (None, the default; see
:func:`images`)."""
ImageSize = Annotated[list[Annotated[int, pydantic.Field(ge=1)]],
                      pydantic.Field(min_length=2, max_length=2)] | None
_GREY = ("1", "L", "LA", "I", "I;16", "F")


class DataWarning(UserWarning):
    """Something in the user's data was left out (a broken image with ``skip_broken``)."""


def image_cache(path: str, *, size: list[int] | None = None, channels: int | None = None,
                skip_broken: bool = False, cache_dir: str | None = None,
                digest: str | None = None) -> tuple[Path, bool]:
    """Where the folder's decoded images are (or will be) cached, and whether they are;
    ``digest``: the folder's listing digest when it is known (a resolved recipe's)."""
    npy, meta = cache_paths(digest or list_images(path), _decode_options(size, channels,
                                                                         skip_broken),
                            _cache_folder(cache_dir))
    return npy, read_cache(npy, meta) is not None


def _decode_options(size: list[int] | None, channels: int | None,
                    skip_broken: bool) -> dict[str, Any]:
    return {"size": size, "channels": channels, "skip_broken": skip_broken}


def _cache_folder(cache_dir: str | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir else cache_dir_default() / "images"


def load_image_folder(path: str, *, size: list[int] | None = None, channels: int | None = None,
                      skip_broken: bool = False, cache_dir: str | None = None
                      ) -> tuple[Listing, np.ndarray, dict[str, Any], bool]:
    """The folder's listing, its images as uint8 ``(N, C, H, W)`` (memory-mapped), the cache
    record (labels, splits, kept files) and whether the cache was there already."""
    listing = list_images(path)
    decode, folder = _decode_options(size, channels, skip_broken), _cache_folder(cache_dir)
    npy, meta = cache_paths(listing, decode, folder)
    cached = read_cache(npy, meta)
    if cached is not None:
        return listing, cached[0], cached[1], True
    if size is None:  # every image must have one size: read the headers first
        shapes = _headers(listing, skip_broken)
        kept = [i for i, s in enumerate(shapes) if s is not None]
        if not kept:
            raise ConfigError("data.path", path, "a folder with at least one image Pillow can read")
        c = channels or (1 if all(shapes[i][2] in _GREY for i in kept) else 3)  # type: ignore[index]
        h, w = _common_size(listing, shapes, kept)
    else:  # one pass: decode into RGB rows, keep one channel if every image was grey
        kept, (h, w) = list(range(len(listing.files))), size
        c = channels or 3
    out, tmp = new_cache(npy, (len(kept), c, h, w))
    try:
        mode = None if channels is None else ("L" if c == 1 else "RGB")

        def decode_one(row: int) -> tuple[int, str] | None:
            used = _decode(listing.files[kept[row]], mode, (w, h), out[row], skip_broken)
            return None if used is None else (row, used)

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            done = [d for d in pool.map(decode_one, range(len(kept))) if d is not None]
        good = [row for row, _ in done]
        if not good:
            raise ConfigError("data.path", path, "a folder with at least one image Pillow can read")
        if c == 3 and channels is None and all(used == "L" for _, used in done):
            grey, tmp_grey = new_cache(npy, (len(kept), 1, h, w))
            grey[:] = out[:, :1]
            del out
            tmp.unlink()
            out, tmp = grey, tmp_grey
    except BaseException:
        del out
        tmp.unlink(missing_ok=True)
        raise
    decoded = {kept[r] for r in good}
    skipped = [os.path.relpath(listing.files[i], listing.root) for i in range(len(listing.files))
               if i not in decoded]
    if skipped:
        warnings.warn(f"{len(skipped)} broken image(s) skipped in {listing.root}: "
                      f"{', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}",
                      DataWarning, stacklevel=2)
    record = {"rows": good, "labels": [listing.labels[kept[r]] for r in range(len(kept))],
              "splits": [listing.splits[kept[r]] for r in range(len(kept))],
              "class_names": list(listing.class_names), "skipped": skipped}
    finish_cache(out, tmp, npy, meta, record)
    return listing, np.load(npy, mmap_mode="r"), record, False


def _headers(listing: Listing, skip_broken: bool) -> list[tuple[int, int, str] | None]:
    """Width, height and mode of every image (None for a broken one that is skipped)."""
    from PIL import Image, UnidentifiedImageError

    def header(f: str) -> tuple[int, int, str] | None:
        try:
            with Image.open(f) as img:
                return img.size[0], img.size[1], img.mode
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            if skip_broken:
                return None
            raise _broken(f, exc) from None

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(header, listing.files))


def _decode(file: str, mode: str | None, size: tuple[int, int], row: np.ndarray,
            skip_broken: bool) -> str | None:
    """Decode ``file`` into ``row`` (C, H, W) in ``mode`` (None: ``L`` for a grey image, else
    ``RGB``; a grey image fills every channel of the row); the mode used, or None when the
    file is broken and skipped."""
    from PIL import Image

    try:
        with Image.open(file) as opened:
            mode = mode or ("L" if opened.mode in _GREY else "RGB")
            img = opened.convert(mode)
            if img.size != size:
                img = img.resize(size, Image.Resampling.BILINEAR)
            pixels = np.asarray(img)
    except (OSError, ValueError) as exc:
        if skip_broken:
            return None
        raise _broken(file, exc) from None
    row[:] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return mode


def _broken(file: str, exc: BaseException) -> ConfigError:
    return ConfigError("data.path", file, f"an image Pillow can read ({exc}); fix or remove "
                       "it, or set data.skip_broken = true to leave it out")


def _common_size(listing: Listing, shapes: list[Any], kept: list[int]) -> tuple[int, int]:
    first = shapes[kept[0]]
    for i in kept:
        if shapes[i][:2] != first[:2]:
            a, b = (os.path.basename(listing.files[j]) for j in (kept[0], i))
            raise ConfigError("data.size", None, f"[height, width] to resize to: the images have "
                              f"different sizes ({a} is {first[0]}x{first[1]}, {b} is "
                              f"{shapes[i][0]}x{shapes[i][1]}, width x height)")
    return first[1], first[0]


def images(*, path: str, size: ImageSize = None, channels: Literal[1, 3] | None = None,
           skip_broken: bool = False, cache_dir: str | None = None,
           in_memory: InMemory = None,
           val_fraction: ValFraction = 0.1, test_fraction: TestFraction = 0.2,
           labels_fraction: LabelsFraction = 1.0, split_seed: SplitSeed = 0,
           normalize: Normalize = "standardize", classes: UserClasses = None,
           labels_per_class: LabelsPerClass = None, digest: Digest = None) -> Dataset:
    """Your image folder (see the module doc) as a Dataset of ``(C, H, W)`` images.

    ``size = [H, W]`` resizes every image (bilinear); without it all images must have one
    size. ``channels``: 1 (grey) or 3 (RGB); default 1 when every image is grey, else 3.
    ``skip_broken`` leaves out images Pillow cannot read, with one warning, instead of
    refusing the folder. ``cache_dir``: where the decoded images go (default: ``images/`` in
    :func:`~trainwell.data.builtin.cache_dir_default`). ``in_memory``: hold the images as
    float32 in memory (``true``, the fast way), or keep them as memory-mapped uint8 rows
    decoded one batch at a time (``false``: a folder larger than memory still trains, see
    :mod:`trainwell.data.stored`); ``"auto"`` (or None, the default) holds them while they
    fit. A folder without ``test/`` gets a stratified test split of ``test_fraction``; without
    ``val/``, one of ``val_fraction``. ``normalize="unit"`` divides by 255. ``classes`` takes
    folder names or ids.

    A cached read lists the folder (a stat of every file) to find its cache, unless
    ``digest`` (a resolved recipe's: the listing taken when the recipe was planned) names it.

    >>> ds = images(path="~/data/flowers", size=[64, 64])  # doctest: +SKIP
    >>> ds.meta.class_names  # doctest: +SKIP
    ('daisy', 'rose', 'tulip')
    """
    options = {"path": path, "size": size, "channels": channels, "skip_broken": skip_broken,
               "cache_dir": cache_dir, "test_fraction": test_fraction, "digest": digest,
               "in_memory": in_memory}
    shared: dict[str, Any] = {
        "name": "images", "source": "", "key": "data.path", "value": path,
        "options": {k: v for k, v in options.items() if v is not None},
        "val_fraction": val_fraction, "test_fraction": test_fraction,
        "labels_fraction": labels_fraction, "split_seed": split_seed, "classes": classes,
        "labels_per_class": labels_per_class, "in_memory": in_memory, "normalize": normalize}
    npy, meta = (None, None) if digest is None else cache_paths(
        digest, _decode_options(size, channels, skip_broken), _cache_folder(cache_dir))
    if npy is not None and meta is not None and (known := read_cache(npy, meta)):
        # a resolved recipe: its digest is the folder's listing, taken when it was planned
        return _with_source(_dataset(*known, npy, **shared), Path(path).expanduser(),
                            _counts(known[1]))
    listing, pixels, record, _ = load_image_folder(path, size=size, channels=channels,
                                                   skip_broken=skip_broken, cache_dir=cache_dir)
    npy, _ = cache_paths(listing, _decode_options(size, channels, skip_broken),
                         _cache_folder(cache_dir))
    return _with_source(_dataset(pixels, record, npy, **shared), listing.root, listing.counts())


def _dataset(pixels: np.ndarray, record: dict[str, Any], npy: Path, **shared: Any) -> Dataset:
    """The Dataset of the cached ``pixels`` (in ``npy``) and their ``record``, held in memory or
    stored; ``shared``: :func:`~trainwell.data.stored.cached_dataset`'s other options."""
    rows = np.asarray(record["rows"], np.int64)
    labels = np.asarray(record["labels"], np.int64)[rows]
    splits = np.asarray(record["splits"])[rows]
    return cached_dataset(pixels, rows, labels, splits, npy=npy, unit_range=(0.0, 255.0),
                          class_names=tuple(record["class_names"]), **shared)


def _counts(record: dict[str, Any]) -> dict[str, int]:
    splits = [record["splits"][r] for r in record["rows"]]
    return {s: splits.count(s) for s in dict.fromkeys(splits)}


def _with_source(ds: Dataset, root: Path, counts: dict[str, int]) -> Dataset:
    listed = ", ".join(f"{n} {s}" for s, n in counts.items())
    meta = dataclasses.replace(ds.meta, source=f"images in {root} ({listed})")
    return dataclasses.replace(ds, meta=meta)
