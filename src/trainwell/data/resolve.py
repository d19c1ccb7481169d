"""Resolve a recipe's ``[data]`` section: what identifies the user's data in the run id.

For a source on disk (``arrays``, ``images``, ``table``) the path becomes absolute and
``digest`` is filled in: the SHA-256 of an arrays or table file's bytes, or of an image
folder's listing (every file's path, size and modification time: the key of its cache).
So the run id changes when the data does, and two datasets never share a row of the store.
A section that already carries a digest is trusted (a worker without the files can still
read the recipe). Built-in datasets and data factories are identified by their name and
options and are returned as they are.

This is part of planning (:func:`trainwell.plan.resolve`), which shares one ``digests`` table
between the recipes of a grid, so each file is hashed once per plan;
:meth:`Recipe.from_dict <trainwell.recipe.Recipe.from_dict>` only checks the options.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from trainwell.errors import ConfigError

__all__ = ["resolve_data", "check_sources", "file_digest", "FILE_SOURCES"]

FILE_SOURCES = ("arrays", "images", "table")


def resolve_data(name: str, options: Mapping[str, Any], *,
                 digests: dict[tuple[str, str, str], str] | None = None) -> dict[str, Any]:
    """``options`` of ``[data] name`` with an absolute ``path`` and the data's ``digest``;
    ``digests`` holds the digests already taken (by source name, path and labels file) and
    gets the new one. A path with nothing at it raises :class:`ConfigError` naming
    ``data.path``.

    >>> resolve_data("digits", {"val_fraction": 0.1})
    {'val_fraction': 0.1}
    """
    out = dict(options)
    if name not in FILE_SOURCES or not isinstance(out.get("path"), str) \
            or out.get("digest") is not None:
        return out
    path = Path(out["path"]).expanduser()
    if not path.exists():
        raise ConfigError("data.path", out["path"], f"an existing file or folder for data.name "
                          f"= {name!r}; there is nothing at {path.absolute()}")
    out["path"] = str(path.resolve())
    labels = out.get("labels") if isinstance(out.get("labels"), str) else None
    key = (name, out["path"], "" if labels is None else str(Path(labels).expanduser().absolute()))
    digests = {} if digests is None else digests
    if key not in digests:
        digests[key] = _digest_of(name, path, labels)
    out["digest"] = digests[key]
    return out


def _digest_of(name: str, path: Path, labels: str | None) -> str:
    """What identifies the data at ``path``: an image folder's listing, or the bytes of its
    arrays or table files (and of the ``labels`` file)."""
    if name == "images":
        from trainwell.data.image_cache import list_images

        return list_images(path).digest
    files = sorted(path.glob("*.npy")) if path.is_dir() else [path]
    if labels is not None:
        files.append(Path(labels).expanduser())
    return _combined([file_digest(f) for f in files])


def check_sources(sections: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Read every distinct user data source among ``sections`` (``(name, resolved options)``)
    once, before a sweep starts: bad data raises its :class:`ConfigError` here, before anything
    is written, and an image folder is decoded into its cache once, not by every worker."""
    from trainwell._spec import is_spec
    from trainwell.data import load_dataset

    seen: set[str] = set()
    for name, options in sections:
        key = json.dumps([name, dict(options)], sort_keys=True, default=str)
        if key in seen or not (name in FILE_SOURCES or is_spec(name)):
            continue
        seen.add(key)
        load_dataset(name, **options)


def _combined(digests: list[str]) -> str:
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (16 hex digits), computed once per size and modification time.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "a").write_bytes(b"abc")
    ...     file_digest(Path(d) / "a")
    'ba7816bf8f01cfea'
    """
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        raise ConfigError("data.path", str(path), "an existing, readable file") from None
    return _digest(str(p), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()[:16]
