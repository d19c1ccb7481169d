"""What a dataset looks like as trainwell reads it, before anything trains (``trainwell data``).

:func:`data_source` turns what the user points at (a file or folder, a built-in name, a data
factory spec, or a recipe file) into a ``[data]`` section; :func:`describe` loads it and
returns plain lines: samples per split and per class, shape, dtype, value range, class
balance and, for an image folder, the state of its cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from trainwell._spec import is_spec
from trainwell.data.arrays import ARRAY_SUFFIXES
from trainwell.data.dataset import Dataset
from trainwell.data.table import TABLE_SUFFIXES
from trainwell.errors import ConfigError

__all__ = ["data_source", "describe", "summary_lines"]


def data_source(source: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``[data]`` section for ``source`` with ``options`` added.

    A ``.toml`` file gives its own ``[data]``; a folder of class subfolders is ``images``, a
    folder of ``.npy`` files or an ``.npz``/``.npy``/``.safetensors`` file ``arrays``, a CSV or
    Parquet file ``table``; anything else is a dataset name or a factory spec.

    >>> data_source("digits", {"val_fraction": 0.2})
    {'name': 'digits', 'val_fraction': 0.2}
    """
    extra = dict(options or {})
    path = Path(source).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".toml":
        from trainwell import _toml
        from trainwell.recipe import anchor_paths

        raw = anchor_paths(_toml.read(path, what="recipe file"), path.parent)
        section = raw.get("data", {"name": "mnist1d"})
        if not isinstance(section, Mapping):
            raise ConfigError("data", section, "a table [data] in the recipe")
        return {**section, **extra}
    if path.is_dir():
        kind = "arrays" if any(path.glob("*.npy")) else "images"
        return {"name": kind, "path": source, **extra}
    if suffix in ARRAY_SUFFIXES:
        return {"name": "arrays", "path": source, **extra}
    if suffix in TABLE_SUFFIXES:
        return {"name": "table", "path": source, **extra}
    if (path.suffix or "/" in source or path.exists()) and not is_spec(source):
        raise ConfigError("SOURCE", source, "an existing image folder, an arrays file "
                          f"({', '.join(ARRAY_SUFFIXES)}), a table ({', '.join(TABLE_SUFFIXES)}),"
                          " a recipe .toml, a dataset name or a factory spec module:function")
    return {"name": source, **extra}


def describe(section: Mapping[str, Any]) -> tuple[Dataset, list[str]]:
    """Load ``section`` (checked and resolved as a recipe's) and describe it in plain lines."""
    from trainwell.data import data_options, load_dataset, resolve_data

    options = dict(section)
    name = str(options.pop("name", "mnist1d"))
    resolved = resolve_data(name, data_options(name, options))
    cache = None
    if name == "images":
        from trainwell.data.images import image_cache

        keys = ("size", "channels", "skip_broken", "cache_dir", "digest")
        npy, there = image_cache(resolved["path"], **{k: resolved[k] for k in keys if k in resolved})
        cache = f"{'read from' if there else 'written to'} {npy}"
    dataset = load_dataset(name, **resolved)
    lines = summary_lines(dataset)
    if cache is not None:
        lines.append(f"cache: {cache}")
    if "digest" in resolved:
        lines.append(f"digest: {resolved['digest']} (part of every run id on this data)")
    return dataset, lines


def summary_lines(ds: Dataset) -> list[str]:
    """The dataset in plain lines: source, shape, splits, value range and classes.

    >>> from trainwell.data import load_dataset
    >>> summary_lines(load_dataset("digits"))[2]
    'input: (1, 8, 8) float32 per sample (images (C, H, W)); values -0.81 .. 1.84 after standardize'
    """
    from trainwell.data._batched import input_kind

    meta = ds.meta
    kind = {"image": "images (C, H, W)", "signal": "signals (C, L)"}.get(
        input_kind(meta.input_shape) or "", "a table (D,)" if len(meta.input_shape) == 1 else
        "flattened by mlp and linear")
    x = ds.x_train
    # stored rows decode monotonically: the decoded extremes are those of the stored ones
    low, high = (float(ds.decode(v.reshape(1))[0]) for v in (x.min(), x.max()))
    dtype = "float32" if ds.stored is not None else str(x.dtype).removeprefix("torch.")
    splits = {"train": ds.y_train, "val": ds.y_val, "test": ds.y_test}
    unlabeled = 0 if ds.x_unlabeled is None else len(ds.x_unlabeled)
    lines = [
        f"dataset: {meta.name}",
        f"source: {meta.source}",
        f"input: {meta.input_shape} {dtype} per sample ({kind}); "
        f"values {low:.2f} .. {high:.2f} after {meta.options.get('normalize')}",
        "samples: " + ", ".join(f"{len(y)} {s}" for s, y in splits.items())
        + (f", {unlabeled} unlabeled" if unlabeled else ""),
        f"classes: {meta.num_classes}",
    ]
    names = meta.label_names
    width = max(len("class"), *(len(n) for n in names))
    counts = {s: torch.bincount(y.cpu(), minlength=meta.num_classes).tolist()
              for s, y in splits.items()}
    lines.append(f"  {'class':<{width}}  " + "  ".join(f"{s:>6}" for s in splits))
    for i, n in enumerate(names):
        lines.append(f"  {n:<{width}}  " + "  ".join(f"{counts[s][i]:>6}" for s in splits))
    if ds.stored is not None:
        lines.append("memory: kept out of memory as uint8 rows (memory-mapped), each batch "
                     "decoded to float32 as it trains (data.in_memory)")
    train = [c for c in counts["train"] if c]
    lines.append(f"balance: the largest training class has {max(train) / min(train):.1f}x the "
                 "samples of the smallest" if len(train) > 1 else "balance: one class")
    return lines
