"""Python objects as data: arrays, tensors, ``torch.utils.data.Dataset`` objects, DataFrames.

:func:`as_splits` turns what a user hands over (``(x, y)``, ``{"train": (x, y), ...}``, a
Dataset per split, one Dataset) into NumPy arrays per split; :func:`data_section` writes them
once to a content-addressed file in the cache folder and returns the recipe's ``[data]``
section that reads them back (``name = "arrays"``, or ``"table"`` for a DataFrame), with the
digest of their bytes, so that every backend can run it and two datasets never share a run id.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from trainwell._io import atomic_write_bytes
from trainwell.data.builtin import cache_dir_default
from trainwell.data.splits import SPLITS
from trainwell.errors import ConfigError

__all__ = ["as_splits", "dataset_arrays", "data_section", "replace_data", "names_data"]

_FORMS = ("(x, y) arrays or tensors, {'train': (x, y), 'test': (x, y)}, a "
          "torch.utils.data.Dataset (or one per split), or a pandas DataFrame with target=")


def _array(v: Any) -> np.ndarray:
    import torch

    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    return np.asarray(v)


def dataset_arrays(ds: Any, *, key: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Every sample of a map-style ``torch.utils.data.Dataset`` as ``(x, y)`` arrays.

    Each sample must be an ``(input, label)`` pair whose inputs are tensors (or arrays) of one
    shape; anything else raises :class:`ConfigError` at ``key`` naming the first bad sample.

    >>> import torch
    >>> x, y = dataset_arrays(torch.utils.data.TensorDataset(torch.zeros(3, 2), torch.arange(3)))
    >>> x.shape, y.tolist()
    ((3, 2), [0, 1, 2])
    """
    import torch

    try:
        n = len(ds)
    except TypeError:
        raise ConfigError(key, type(ds).__name__, "a map-style Dataset with __len__ and "
                          "__getitem__ (an IterableDataset cannot be split)") from None
    xs: list[np.ndarray] = []
    ys: list[Any] = []
    for i in range(n):
        sample = ds[i]
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            raise ConfigError(key, type(ds).__name__, f"samples that are (input, label) pairs; "
                              f"sample {i} is a {type(sample).__name__}")
        x, y = sample
        if not isinstance(x, (torch.Tensor, np.ndarray)):
            raise ConfigError(key, type(ds).__name__, f"samples whose inputs are tensors; "
                              f"sample {i}'s input is a {type(x).__module__}."
                              f"{type(x).__qualname__} (convert it in __getitem__)")
        x = _array(x)
        if xs and x.shape != xs[0].shape:
            raise ConfigError(key, type(ds).__name__, f"inputs of one shape; sample 0 is shaped "
                              f"{xs[0].shape}, sample {i} {x.shape} (resize them in __getitem__)")
        xs.append(x)
        label = _array(y)
        ys.append(label.item() if label.size == 1 else label)
    if not xs:
        raise ConfigError(key, type(ds).__name__, "a Dataset with samples; it is empty")
    return np.stack(xs), np.asarray(ys)


def _pair(value: Any, split: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    if isinstance(value, torch.utils.data.Dataset):
        return dataset_arrays(value, key=key)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return _array(value[0]), _array(value[1])
    raise ConfigError(key, f"{split}: {type(value).__name__}", _FORMS)


def as_splits(data: Any, *, key: str = "data") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``data`` as ``{split: (x, y)}`` NumPy arrays; ``"all"`` when it has no splits of its own.

    >>> sorted(as_splits({"train": ([[0.0], [1.0]], [0, 1]), "test": ([[2.0]], [1])}))
    ['test', 'train']
    """
    if isinstance(data, Mapping):
        unknown = [s for s in data if s not in SPLITS]
        if unknown or "train" not in data:
            raise ConfigError(key, f"a dict with keys {', '.join(map(str, data))}",
                              f"splits among {', '.join(SPLITS)}, train required")
        return {str(s): _pair(v, str(s), key) for s, v in data.items()}
    return {"all": _pair(data, "all", key)}


def _digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()[:16]


def data_section(data: Any, *, target: str | None = None,
                 cache_dir: str | Path | None = None) -> dict[str, Any]:
    """The ``[data]`` section that reads ``data`` back, after writing it once to the cache.

    A DataFrame (with ``target``, its label column) is written as Parquet and read as a
    ``table``; everything else as an ``.npz`` read as ``arrays``. The file is named by the
    digest of its contents, so the same data is written once and keeps its run ids.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     section = data_section((np.zeros((4, 2)), [0, 1, 0, 1]), cache_dir=d)
    >>> section["name"], len(section["digest"])
    ('arrays', 16)
    """
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_default() / "data"
    if _is_frame(data):
        if target is None:
            raise ConfigError("target", None, "the name of the DataFrame's label column "
                              "(target=...)")
        if target not in data.columns:
            cols = ", ".join(map(str, data.columns))
            raise ConfigError("target", target, f"a column of the DataFrame: {cols}")
        import pyarrow as pa
        from pyarrow import parquet

        sink = io.BytesIO()
        parquet.write_table(pa.Table.from_pandas(data, preserve_index=False), sink)
        blob = sink.getvalue()
        path = folder / f"table-{_digest(blob)}.parquet"
        if not path.exists():
            atomic_write_bytes(path, blob)
        return {"name": "table", "path": str(path), "target": target, "digest": _digest(blob)}
    if target is not None:
        raise ConfigError("target", target, "no value: target= names a DataFrame's label column")
    splits = as_splits(data)
    arrays = {("x", "y")[i] if s == "all" else f"{'xy'[i]}_{s}": v[i]
              for s, v in splits.items() for i in range(2)}
    for name, a in arrays.items():
        if a.dtype.kind == "O":
            arrays[name] = a.astype(str)
    content = hashlib.sha256()
    for name, a in sorted(arrays.items()):
        a = np.ascontiguousarray(a)
        content.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        content.update(a.tobytes())
    digest = content.hexdigest()[:16]
    path = folder / f"arrays-{digest}.npz"
    if not path.exists():
        sink = io.BytesIO()
        np.savez(sink, **dict(sorted(arrays.items())))  # type: ignore[arg-type]
        atomic_write_bytes(path, sink.getvalue())
    return {"name": "arrays", "path": str(path), "digest": digest}


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def names_data(data: Any) -> bool:
    """True when ``data`` names datasets (a data axis: a name or a list of names or tables)
    rather than being data.

    >>> names_data(["digits", "mnist1d"]), names_data((np.zeros((2, 1)), [0, 1]))
    (True, False)
    """
    if data is None or isinstance(data, str):
        return True
    return isinstance(data, (list, tuple)) and all(isinstance(v, (str, Mapping)) for v in data)


def replace_data(raw: Mapping[str, Any], section: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe dict ``raw`` with its ``[data]`` replaced by ``section``, keeping the options of
    the old section that the new source takes too (``val_fraction``, ``split_seed``, ...).

    >>> replace_data({"data": {"name": "digits", "val_fraction": 0.2}},
    ...              {"name": "arrays", "path": "a.npz"})["data"]
    {'val_fraction': 0.2, 'name': 'arrays', 'path': 'a.npz'}
    """
    from trainwell.data import data_options_fn
    from trainwell.params import option_names

    out = dict(raw)
    given = raw.get("data", {})
    accepted = set(option_names(data_options_fn(str(section["name"])))) - {"path", "digest"}
    kept = {k: v for k, v in given.items() if k in accepted} if isinstance(given, Mapping) else {}
    out["data"] = {**kept, **section}
    return out
