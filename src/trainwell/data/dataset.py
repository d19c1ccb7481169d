"""The Dataset every loader returns: tensors split three ways, plus what they are."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch

__all__ = ["Dataset", "DatasetMeta", "Stored", "to_float"]


@dataclass(frozen=True)
class DatasetMeta:
    """What a Dataset holds: its name, input shape per sample, classes and normalization.

    ``mean`` and ``std`` are the statistics (computed on the training split only) that were
    subtracted and divided; ``source`` says where the samples came from; ``options`` are the
    loader options that produced it. ``classes`` is None when every class of the source is
    kept; after the ``classes`` option it holds the original class ids in label order, so
    label ``i`` is original class ``classes[i]``. ``class_names`` names label ``i`` when the
    source names its classes (an image folder's subfolders, string labels), else it is None.

    >>> DatasetMeta("digits", (1, 8, 8), 2, classes=(7, 1)).class_map
    {7: 0, 1: 1}
    """

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    mean: float | None = None
    std: float | None = None
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    classes: tuple[int, ...] | None = None
    class_names: tuple[str, ...] | None = None

    def record(self) -> dict[str, Any]:
        """What a run keeps about its data (``History.data``): name, source, input
        shape, number of classes and their names.

        >>> DatasetMeta("pets", (3, 8, 8), 2, class_names=("cat", "dog")).record()["classes"]
        ['cat', 'dog']
        """
        return {"name": self.name, "source": self.source, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "classes": list(self.label_names)}

    @property
    def label_names(self) -> tuple[str, ...]:
        """The name of each label: the class names, else the original class ids as text."""
        return self.class_names or tuple(str(c) for c in (self.classes or range(self.num_classes)))

    @property
    def class_map(self) -> dict[int, int]:
        """Original class id -> label: identity unless ``classes`` chose a subset."""
        ids = self.classes if self.classes is not None else range(self.num_classes)
        return {int(c): label for label, c in enumerate(ids)}


@dataclass(frozen=True)
class Stored:
    """How stored inputs (uint8 pixels, memory-mapped) become the float32 inputs a model sees:
    ``x' = (x - shift) / scale``, clipped to ``[0, 1]`` when ``clip``; ``shift`` and ``scale``
    are None for ``normalize = "none"``. The same float32 operations as a dataset normalized
    in memory, so both give the same values.

    >>> Stored(0.0, 255.0).decode(torch.tensor([0, 51, 255], dtype=torch.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    """

    shift: float | None = None
    scale: float | None = None
    clip: bool = False

    def decode(self, x: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
        """``x`` (a batch of stored rows) as normalized float32 on ``device`` (default: ``x``'s);
        the conversion runs on that device (on the CPU, by :func:`to_float`, as in memory)."""
        device = device or x.device
        if device.type == "cpu" and x.device.type == "cpu":
            return torch.from_numpy(to_float(x.numpy(), self.shift, self.scale, self.clip))
        x = x.to(device, non_blocking=True)
        if self.shift is None or self.scale is None:
            return x.float()
        # a float32 scalar tensor makes each operation convert the stored rows as it goes
        if self.shift:
            out = torch.sub(x, _scalar(self.shift, x.device)).div_(_scalar(self.scale, x.device))
        else:  # x - 0 is x
            out = torch.div(x, _scalar(self.scale, x.device))
        return out.clamp_(0.0, 1.0) if self.clip else out


def to_float(x: np.ndarray, shift: float | None, scale: float | None,
             clip: bool = False) -> np.ndarray:
    """``x`` as a new float32 array, ``(x - shift) / scale`` (clipped to ``[0, 1]`` when
    ``clip``), converting while subtracting: one pass fewer than converting first, and the
    same float32 values.

    >>> to_float(np.array([0, 51, 255], np.uint8), 0.0, 255.0).tolist()
    [0.0, 0.20000000298023224, 1.0]
    """
    out = np.empty(x.shape, np.float32)
    if shift is None or scale is None:
        out[...] = x
        return out
    if shift:
        np.subtract(x, np.float32(shift), out=out, dtype=np.float32)
        np.divide(out, np.float32(scale), out=out)
    else:  # x - 0 is x
        np.divide(x, np.float32(scale), out=out, dtype=np.float32)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out


@functools.lru_cache(maxsize=64)
def _scalar(value: float, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.tensor(value, dtype=torch.float32, device=device)


@dataclass(frozen=True)
class Dataset:
    """Float32 inputs shaped ``(N, C, L)`` or ``(N, C, H, W)`` and int64 labels, three splits.

    ``x_unlabeled`` holds training inputs whose labels were withheld (``labels_fraction`` or
    ``labels_per_class``); pre-training may use them, supervised training never sees them.

    With ``stored`` (a dataset kept out of memory: an image folder too large to hold as
    float32, see :mod:`trainwell.data.stored`), the ``x_*`` tensors are the stored uint8 rows,
    memory-mapped and left on the CPU by :meth:`to`; :meth:`decode` turns any slice of them
    into what a model sees, one batch at a time.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: DatasetMeta
    x_unlabeled: torch.Tensor | None = None
    stored: Stored | None = None

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on ``device`` (stored inputs stay on the CPU:
        each batch goes to ``device`` when it is decoded)."""
        moved = {
            f.name: v.to(device)
            for f in dataclasses.fields(self)
            if isinstance(v := getattr(self, f.name), torch.Tensor)
            and not (self.stored is not None and f.name.startswith("x_"))
        }
        # Only tensor fields are replaced, which the checker cannot tell from the names.
        return dataclasses.replace(self, **cast(dict[str, Any], moved))

    @property
    def device(self) -> torch.device:
        """Where the labels are, and where decoded inputs go."""
        return self.y_train.device

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """A slice of this dataset's inputs as a model takes them: ``x`` itself, or for stored
        inputs their float32 values, normalized, on :attr:`device`."""
        return x if self.stored is None else self.stored.decode(x, self.device)

    def decode_rows(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` (int64, on the CPU for stored inputs) of inputs ``x``, as a model
        takes them: stored rows are gathered by NumPy from the memory map (one thread: a batch
        is too small to share out) and then decoded."""
        if self.stored is None:
            return x[index.to(x.device)]
        return self.decode(torch.from_numpy(np.take(x.numpy(), index.numpy(), axis=0)))

    def in_memory(self) -> Dataset:
        """This dataset with every input decoded into memory (itself when its inputs are not
        stored): for what needs whole splits of float inputs at once."""
        if self.stored is None:
            return self
        decoded: dict[str, Any] = {f.name: self.decode(x) for f in dataclasses.fields(self)
                   if f.name.startswith("x_") and (x := getattr(self, f.name)) is not None}
        return dataclasses.replace(self, **decoded, stored=None)

    @property
    def all_inputs(self) -> torch.Tensor:
        """Every training input, labelled or not (what unsupervised pre-training sees); stored
        inputs are decoded into memory."""
        if self.x_unlabeled is None or len(self.x_unlabeled) == 0:
            return self.decode(self.x_train)
        return self.decode(torch.cat([self.x_train, self.x_unlabeled]))

    def __repr__(self) -> str:
        n_unl = 0 if self.x_unlabeled is None else len(self.x_unlabeled)
        return (f"Dataset({self.meta.name!r}, input_shape={self.meta.input_shape}, "
                f"classes={self.meta.num_classes}, train={len(self.x_train)}, "
                f"val={len(self.x_val)}, test={len(self.x_test)}, unlabeled={n_unl})")
