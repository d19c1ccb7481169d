"""The user's arrays from files: an ``.npz``, ``.npy`` files, or a ``.safetensors`` file.

The arrays are named ``x_train``/``y_train`` (required) and optionally ``x_val``/``y_val``
and ``x_test``/``y_test``; or just ``x``/``y``, split by ``test_fraction``, ``val_fraction``
and ``split_seed``. ``path`` is

- an ``.npz`` or ``.safetensors`` file holding those arrays;
- a folder holding them as ``<name>.npy`` files (read memory-mapped);
- one ``.npy`` file of inputs, with ``labels`` the ``.npy`` file of their labels.

Inputs are shaped ``(N, D)`` (a table), ``(N, C, L)`` (signals) or ``(N, C, H, W)`` /
``(N, H, W, C)`` (images): ``layout`` says which of the last two, and ``"auto"`` detects it
when only one end has 1, 3 or 4 entries (what it decided is in ``meta.source``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trainwell.data.dataset import Dataset
from trainwell.data.prepare import LabelsFraction, LabelsPerClass, Normalize, SplitSeed, ValFraction
from trainwell.data.splits import SPLITS, Digest, TestFraction, UserClasses, from_splits
from trainwell.errors import ConfigError

__all__ = ["arrays", "read_arrays", "channels_first", "Layout", "ARRAY_SUFFIXES"]

Layout = Literal["auto", "channels_first", "channels_last"]
ARRAY_SUFFIXES = (".npz", ".npy", ".safetensors")
_KEYS = tuple(f"{v}_{s}" for s in SPLITS for v in "xy")
_CHANNELS = (1, 3, 4)


def read_arrays(path: str | os.PathLike[str], labels: str | None = None
                ) -> dict[str, tuple[Any, Any]]:
    """The arrays at ``path`` as ``{split: (x, y)}`` (see the module doc for the layouts).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(f"{d}/a.npz", x=np.zeros((4, 2)), y=[0, 1, 0, 1])
    ...     sorted(read_arrays(f"{d}/a.npz"))
    ['all']
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError("data.path", str(path), f"an existing {', '.join(ARRAY_SUFFIXES)} file "
                          "or a folder of .npy files; there is nothing at that path")
    if p.suffix == ".npy" and p.is_file():
        if labels is None:
            raise ConfigError("data.labels", None, f"the .npy file of the labels of {p.name} "
                              "(or give an .npz holding x and y)")
        return {"all": (_load_npy(p), _load_npy(Path(labels).expanduser(), key="data.labels"))}
    if labels is not None:
        raise ConfigError("data.labels", labels, "no value: only an inputs .npy file takes a "
                          "labels file; an .npz, .safetensors or folder holds the labels")
    if p.is_dir():
        found = {f.stem: f for f in sorted(p.glob("*.npy"))}
        named = {k: _load_npy(f) for k, f in found.items() if k in _KEYS + ("x", "y")}
        return _by_split(named, list(found), str(path))
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                return _by_split({k: z[k] for k in z.files}, list(z.files), str(path))
        except (OSError, ValueError) as exc:
            raise ConfigError("data.path", str(path), f"a readable .npz file ({exc})") from None
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            loaded = load_file(p)
        except (OSError, SafetensorError) as exc:
            raise ConfigError("data.path", str(path), f"a readable .safetensors file ({exc})") from None
        return _by_split(dict(loaded), list(loaded), str(path))
    raise ConfigError("data.path", str(path), f"a file ending in {', '.join(ARRAY_SUFFIXES)} or "
                      "a folder of .npy files")


def _load_npy(file: Path, key: str = "data.path") -> np.ndarray:
    try:
        return np.load(file, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(key, str(file), "an existing .npy file") from None
    except (OSError, ValueError) as exc:
        # object arrays (strings of Python objects) cannot be memory-mapped; read them whole
        if "allow_pickle" in str(exc):
            return np.load(file, allow_pickle=True)
        raise ConfigError(key, str(file), f"a readable .npy file ({exc})") from None


def _by_split(named: dict[str, Any], keys: list[str], path: str) -> dict[str, tuple[Any, Any]]:
    unknown = [k for k in keys if k not in _KEYS + ("x", "y")]
    allowed = "x_train and y_train (optional x_val/y_val, x_test/y_test), or x and y"
    if unknown:
        raise ConfigError("data.path", path, f"arrays named {allowed}; unknown: "
                          f"{', '.join(unknown)}")
    if "x" in named or "y" in named:
        if set(named) != {"x", "y"}:
            raise ConfigError("data.path", path, f"arrays named {allowed}; found "
                              f"{', '.join(sorted(named))}")
        return {"all": (named["x"], named["y"])}
    out = {}
    for split in SPLITS:
        x, y = named.get(f"x_{split}"), named.get(f"y_{split}")
        if (x is None) != (y is None):
            missing = f"y_{split}" if y is None else f"x_{split}"
            raise ConfigError("data.path", path, f"arrays named {allowed}; {missing} is missing")
        if x is not None:
            out[split] = (x, y)
    if "train" not in out:
        raise ConfigError("data.path", path, f"arrays named {allowed}; found "
                          f"{', '.join(sorted(named)) or 'none'}")
    return out


def channels_first(x: Any, layout: str, *, key: str = "data.path", value: object = None
                   ) -> tuple[Any, str]:
    """``x`` with its channels before the spatial axes, and a few words on what was decided.

    >>> x, said = channels_first(np.zeros((2, 8, 8, 3)), "auto")
    >>> x.shape, said
    ((2, 3, 8, 8), 'images (N, H, W, C) detected, channels moved first')
    """
    if x.ndim == 2:
        return x, "a table (N, D)"
    if x.ndim == 3:
        return x, "signals (N, C, L)"
    if x.ndim != 4:
        raise ConfigError(key, value, "inputs shaped (N, D), (N, C, L), (N, C, H, W) or "
                          f"(N, H, W, C); they are shaped {x.shape}")
    if layout == "auto":
        first, last = x.shape[1] in _CHANNELS, x.shape[3] in _CHANNELS
        if first == last:
            raise ConfigError("data.layout", "auto", f"channels_first or channels_last: images "
                              f"shaped {tuple(x.shape)} could have channels at either end")
        layout = "channels_first" if first else "channels_last"
        said = "detected"
    else:
        said = "as data.layout says"
    if layout == "channels_first":
        return x, f"images (N, C, H, W) {said}"
    return np.moveaxis(x, 3, 1), f"images (N, H, W, C) {said}, channels moved first"


def arrays(*, path: str, labels: str | None = None, layout: Layout = "auto",
           val_fraction: ValFraction = 0.1, test_fraction: TestFraction = 0.2,
           labels_fraction: LabelsFraction = 1.0, split_seed: SplitSeed = 0,
           normalize: Normalize = "standardize", classes: UserClasses = None,
           labels_per_class: LabelsPerClass = None, digest: Digest = None) -> Dataset:
    """Your arrays (``.npz``, ``.npy``, ``.safetensors``; see the module doc) as a Dataset.

    Labels are integers ``0 .. K-1`` or class names (numbered in sorted order and kept in
    ``meta.class_names``); ``classes`` takes ids or those names. ``normalize="unit"`` divides
    ``uint8`` inputs by 255 and maps other inputs' training minimum and maximum to 0 and 1.
    ``digest`` identifies the arrays in the run id (filled in when the recipe is resolved).

    >>> ds = arrays(path="my_data.npz")  # doctest: +SKIP
    >>> ds.meta.input_shape, ds.meta.class_names  # doctest: +SKIP
    ((3, 32, 32), ('cat', 'dog'))
    """
    splits = read_arrays(path, labels)
    said = ""
    for split, (x, y) in list(splits.items()):
        x, said = channels_first(np.asarray(x), layout, value=path)
        splits[split] = (x, y)
    if "all" in splits:
        x, y = splits.pop("all")
        splits["train"] = (x, y)
    x_train = splits["train"][0]
    unit = (0.0, 255.0) if x_train.dtype == np.uint8 else None
    options = {"path": path, "labels": labels, "layout": layout, "test_fraction": test_fraction,
               "digest": digest}
    return from_splits(
        splits, name="arrays", source=f"arrays in {path}: {said}",
        options={k: v for k, v in options.items() if v is not None}, key="data.path",
        value=path, val_fraction=val_fraction, test_fraction=test_fraction,
        labels_fraction=labels_fraction, split_seed=split_seed, normalize=normalize,
        classes=classes, labels_per_class=labels_per_class, unit_range=unit)
