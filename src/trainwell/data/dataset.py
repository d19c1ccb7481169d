"""The Dataset every loader returns: tensors split three ways, plus what they are."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, cast

import torch

__all__ = ["Dataset", "DatasetMeta"]


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
        names = self.class_names or tuple(str(c) for c in (self.classes or range(self.num_classes)))
        return {"name": self.name, "source": self.source, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "classes": list(names)}

    @property
    def class_map(self) -> dict[int, int]:
        """Original class id -> label: identity unless ``classes`` chose a subset."""
        ids = self.classes if self.classes is not None else range(self.num_classes)
        return {int(c): label for label, c in enumerate(ids)}


@dataclass(frozen=True)
class Dataset:
    """Float32 inputs shaped ``(N, C, L)`` or ``(N, C, H, W)`` and int64 labels, three splits.

    ``x_unlabeled`` holds training inputs whose labels were withheld (``labels_fraction`` or
    ``labels_per_class``); pre-training may use them, supervised training never sees them.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: DatasetMeta
    x_unlabeled: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on ``device``."""
        moved = {
            f.name: v.to(device)
            for f in dataclasses.fields(self)
            if isinstance(v := getattr(self, f.name), torch.Tensor)
        }
        # Only tensor fields are replaced, which the checker cannot tell from the names.
        return dataclasses.replace(self, **cast(dict[str, Any], moved))

    @property
    def all_inputs(self) -> torch.Tensor:
        """Every training input, labelled or not (what unsupervised pre-training sees)."""
        if self.x_unlabeled is None or len(self.x_unlabeled) == 0:
            return self.x_train
        return torch.cat([self.x_train, self.x_unlabeled])

    def __repr__(self) -> str:
        n_unl = 0 if self.x_unlabeled is None else len(self.x_unlabeled)
        return (f"Dataset({self.meta.name!r}, input_shape={self.meta.input_shape}, "
                f"classes={self.meta.num_classes}, train={len(self.x_train)}, "
                f"val={len(self.x_val)}, test={len(self.x_test)}, unlabeled={n_unl})")
