"""An image folder's listing, and the uint8 cache its decoded images are kept in.

The listing is every image file under the folder (class subfolders, or ``train/``, ``val/``,
``test/`` each of class subfolders), with its size and modification time: its digest
identifies the data in a run id and, with the decoding options, keys the cache. The cache is
two files in the cache folder: ``images-<key>.npy``, every image as uint8 ``(N, C, H, W)``
(opened memory-mapped: a read copies out only the rows it takes), and
``images-<key>.json`` (labels, splits, class names, skipped files), written last: a cache
without its JSON is incomplete and is written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainwell._io import atomic_write_text
from trainwell.errors import ConfigError

__all__ = ["IMAGE_SUFFIXES", "Listing", "list_images", "cache_paths", "read_cache", "new_cache",
           "finish_cache"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_SPLIT_DIRS = ("train", "val", "test")
_FORMAT = 1
"""Bumped when the cache's layout changes, so old caches are not misread."""


@dataclass(frozen=True)
class Listing:
    """The image files of a folder: path, split and class id of each, and the class names."""

    root: Path
    files: tuple[str, ...]
    splits: tuple[str, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]
    digest: str

    def counts(self) -> dict[str, int]:
        """Images per split."""
        return {s: self.splits.count(s) for s in dict.fromkeys(self.splits)}


def list_images(path: str | os.PathLike[str]) -> Listing:
    """List the images under ``path`` (class subfolders, or train/val/test of class subfolders).

    Class names are the subfolder names, sorted (label ``i`` is the ``i``-th); an empty class
    folder, a folder with no class subfolders or a split whose classes are not the training
    split's raises :class:`ConfigError` at ``data.path``.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ConfigError("data.path", str(path), "an existing folder of class subfolders "
                          "(or of train/, val/, test/ each of class subfolders)")
    subdirs = _subdirs(root)
    split_dirs = {s: root / s for s in _SPLIT_DIRS if s in subdirs}
    if "train" not in split_dirs:
        split_dirs = {"train": root}
    names = _subdirs(split_dirs["train"])
    if not names:
        raise ConfigError("data.path", str(path), "a folder of class subfolders, each holding "
                          f"images ({', '.join(IMAGE_SUFFIXES)}); {root} has no subfolders")
    folders = [(split, label, folder / name) for split, folder in split_dirs.items()
               for label, name in enumerate(names)]
    for split, folder in split_dirs.items():
        extra = [d for d in _subdirs(folder) if d not in names]
        if extra:
            raise ConfigError("data.path", str(path), f"the training split's classes in "
                              f"{split}/; {folder / extra[0]} is a class the training split "
                              "does not have")
    # one thread: a stat is cheap next to the Python around it, and threads would contend
    found = [sorted(_image_files(str(folder))) for _, _, folder in folders]
    for (split, _, folder), listed in zip(folders, found, strict=True):
        if not listed and split == "train":
            raise ConfigError("data.path", str(path), f"images in every class folder; "
                              f"{folder} holds no {', '.join(IMAGE_SUFFIXES)} files")
    prefix = len(os.path.join(str(root), ""))  # listed paths start with root's, then a slash
    digest = hashlib.sha256(f"format {_FORMAT}\n".encode())
    for listed in found:
        digest.update("".join(f"{f[prefix:]}\t{size}\t{mtime}\n"
                              for f, size, mtime in listed).encode())
    files = tuple(f for listed in found for f, _, _ in listed)
    splits = tuple(split for (split, _, _), listed in zip(folders, found, strict=True)
                   for _ in listed)
    labels = tuple(label for (_, label, _), listed in zip(folders, found, strict=True)
                   for _ in listed)
    return Listing(root, files, splits, labels, tuple(names), digest.hexdigest()[:16])


def _image_files(folder: str) -> list[tuple[str, int, int]]:
    """Every image file under ``folder`` (recursively), with its size and modification time;
    ``os.scandir`` keeps the listing of a large folder a small part of a cached read."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                out += _image_files(entry.path)
            elif "." + entry.name.rpartition(".")[2].lower() in IMAGE_SUFFIXES:
                st = entry.stat()
                out.append((entry.path, st.st_size, st.st_mtime_ns))
    return out


def _subdirs(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def cache_paths(listing: Listing | str, decode: dict[str, Any],
                cache_dir: Path) -> tuple[Path, Path]:
    """The cache's ``.npy`` and ``.json`` for ``listing`` (or its digest) decoded with
    ``decode`` options."""
    digest = listing if isinstance(listing, str) else listing.digest
    text = json.dumps({"listing": digest, **decode}, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    return cache_dir / f"images-{key}.npy", cache_dir / f"images-{key}.json"


def read_cache(npy: Path, meta: Path) -> tuple[np.ndarray, dict[str, Any]] | None:
    """The cached images (memory-mapped) and their record, or None if there is no whole cache."""
    if not meta.is_file() or not npy.is_file():
        return None
    try:
        record = json.loads(meta.read_text())
        images = np.load(npy, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if record.get("format") != _FORMAT or len(images) != len(record.get("labels", ())):
        return None
    return images, record


def new_cache(npy: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, Path]:
    """A writable uint8 memmap of ``shape`` in a temporary file beside ``npy``."""
    npy.parent.mkdir(parents=True, exist_ok=True)
    tmp = npy.with_name(f".{npy.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    return np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape), tmp


def finish_cache(images: np.ndarray, tmp: Path, npy: Path, meta: Path,
                 record: dict[str, Any]) -> None:
    """Flush the images, move them into place, then write the record that marks them whole."""
    if isinstance(images, np.memmap):
        images.flush()
    del images
    os.replace(tmp, npy)
    atomic_write_text(meta, json.dumps({"format": _FORMAT, **record}))
