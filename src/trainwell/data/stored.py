"""An image folder's cached pixels as a Dataset: held as float32 in memory, or kept out of it
as memory-mapped uint8 rows decoded per batch.

Held as float32 in memory, a folder takes four bytes per pixel and channel; when that does not
fit (``in_memory = "auto"``: more than :data:`MEMORY_SHARE` of the memory available now, or
``in_memory = false``), :func:`cached_dataset` keeps the decoded pixels as they are in the
cache and builds a :class:`~trainwell.data.Dataset` whose inputs are uint8 tensors mapped from
disk, with a :class:`~trainwell.data.dataset.Stored` rule that turns each batch into float32 on
the device (:meth:`~trainwell.data.Dataset.decode`).

1. The splits are made on the row numbers instead of the pixels (each row number carried as
   two float32 values, exact below 2**36 rows) by :func:`~trainwell.data.splits.from_splits`,
   so each split's pixels are gathered from the cache once, in either case.
2. Held in memory, each split is converted and normalized as it is gathered. Kept out of
   memory, the rows of every split are copied once, chunk by chunk, from the cache into one
   file beside it, named by the digest of the row numbers (``images-<key>-rows-<digest>.npy``):
   each split is a contiguous slice, so an evaluation reads it in order and a batch is one
   gather.
3. The normalization statistics come from the training split's uint8 rows, chunk by chunk (the
   same float64 sums either way), so both give the same values, bit for bit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainwell.data.dataset import Dataset, Stored, to_float
from trainwell.data.image_cache import new_cache
from trainwell.data.normalize import normalization
from trainwell.data.splits import from_splits
from trainwell.errors import ConfigError

__all__ = ["MEMORY_SHARE", "available_memory", "keep_in_memory", "cached_dataset"]

MEMORY_SHARE = 0.5
"""``in_memory = "auto"`` keeps a dataset in memory while its float32 inputs take at most this
share of the memory available."""

_CHUNK = 8192
_SPLITS = ("train", "val", "test", "unlabeled")


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``, else free pages), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def keep_in_memory(in_memory: bool | None, shape: tuple[int, ...]) -> bool:
    """Whether inputs of ``shape`` (uint8 rows) are held as float32 in memory: ``in_memory``
    itself when it is a bool; for None (``"auto"``), when they take at most
    :data:`MEMORY_SHARE` of :func:`available_memory` (or that is unknown).

    >>> keep_in_memory(None, (100, 1, 28, 28)), keep_in_memory(False, (100, 1, 28, 28))
    (True, False)
    """
    if in_memory is not None:
        return in_memory
    free = available_memory()
    return free is None or 4 * int(np.prod(shape, dtype=np.int64)) <= MEMORY_SHARE * free


def cached_dataset(pixels: np.ndarray, rows: np.ndarray, labels: np.ndarray,
                   splits: np.ndarray, *, npy: Path, in_memory: bool | None, normalize: str,
                   unit_range: tuple[float, float] | None, **split_options: Any) -> Dataset:
    """The Dataset of cached ``pixels`` (uint8 ``(N, C, H, W)``) whose rows ``rows`` have
    ``labels`` and belong to ``splits``: held as float32 in memory, or stored (see the module
    doc and :func:`keep_in_memory`); ``split_options`` are
    :func:`~trainwell.data.splits.from_splits`' other options.

    Either way the splits are made on row numbers and each split's pixels are gathered once
    (in memory, converted and normalized in the same pass): no copy of the whole cache first.
    """
    ids = rows.astype(np.int64)
    proxy = np.stack([ids >> 12, ids & 4095], axis=1).astype(np.float32)
    parts = {s: (proxy[splits == s], labels[splits == s])
             for s in ("train", "val", "test") if (splits == s).any()}
    index = from_splits(parts, normalize="none", **split_options)
    picked = {s: _rows(x) for s in _SPLITS if (x := getattr(index, f"x_{s}")) is not None}
    keep = keep_in_memory(in_memory, (len(rows), *pixels.shape[1:]))
    views = {s: pixels[v] for s, v in picked.items()} if keep else _gathered(pixels, picked, npy)
    shift, scale, clip = normalization(views["train"], normalize, unit_range)
    meta = dataclasses.replace(
        index.meta, input_shape=tuple(int(d) for d in pixels.shape[1:]), mean=shift, std=scale,
        options={**index.meta.options, "normalize": normalize})
    if keep:
        tensors: dict[str, Any] = {f"x_{s}": torch.from_numpy(to_float(v, shift, scale, clip))
                   for s, v in views.items()}
        return dataclasses.replace(index, **tensors, meta=meta)
    tensors = {f"x_{s}": torch.from_numpy(np.asarray(v)) for s, v in views.items()}
    return dataclasses.replace(index, **tensors, meta=meta, stored=Stored(shift, scale, clip))


def _rows(x: torch.Tensor) -> np.ndarray:
    pair = x.numpy().astype(np.int64)
    return (pair[:, 0] << 12) | pair[:, 1]


def _gathered(pixels: np.ndarray, picked: dict[str, np.ndarray], npy: Path
              ) -> dict[str, np.ndarray]:
    """The rows of each split, one split after the other in one file beside ``npy`` (written
    once per choice of rows), memory-mapped."""
    order = np.concatenate(list(picked.values()))
    digest = hashlib.sha256(np.ascontiguousarray(order).tobytes())
    digest.update(repr([(s, len(v)) for s, v in picked.items()]).encode())
    path = npy.with_name(f"{npy.stem}-rows-{digest.hexdigest()[:16]}.npy")
    if not path.is_file():
        try:
            out, tmp = new_cache(path, (len(order), *pixels.shape[1:]))
        except OSError as exc:
            raise ConfigError("data.cache_dir", str(path.parent), "a folder trainwell can "
                              "write: a dataset kept out of memory writes its splits beside "
                              f"the cache ({exc.strerror or exc})") from None
        try:
            for start in range(0, len(order), _CHUNK):
                chunk = order[start:start + _CHUNK]
                sort = np.argsort(chunk, kind="stable")  # read the cache in file order
                out[start + sort] = pixels[chunk[sort]]
            if isinstance(out, np.memmap):
                out.flush()
            del out
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    # copy-on-write: torch wants a writable array; nothing writes to it, so nothing is copied
    whole = np.load(path, mmap_mode="c")
    views, start = {}, 0
    for split, chosen in picked.items():
        views[split] = whole[start:start + len(chosen)]
        start += len(chosen)
    return views
