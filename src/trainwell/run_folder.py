"""A run's folder: the one place that knows what a finished run leaves behind, and where.

::

    <run folder>/recipe.toml               the resolved recipe
    <run folder>/history.json              written last: a folder with it is complete
    <run folder>/weights.safetensors       the final weights
    <run folder>/averaged.safetensors      the averaged weights ([average])
    <run folder>/predictions.safetensors   validation and test-set probabilities
    <run folder>/snapshots/snapshot-<k>.safetensors
    <run folder>/checkpoints/              written while training (train.checkpoint_every)
    <run folder>/tensorboard/              written while training (train.log_to)

A run's outcome carries its *artifacts* as named groups of tensors; each is written as
``<name>.safetensors``, so a new kind of output needs a name here and the callback that
makes it, nothing in between.

>>> folder = RunFolder("runs/init/3f2a9c1d0b4e")
>>> folder.weights("averaged").name, folder.artifact("snapshots/snapshot-2").name
('averaged.safetensors', 'snapshot-2.safetensors')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch

from trainwell._io import atomic_write_bytes, atomic_write_text

__all__ = ["RunFolder", "WeightsKind", "ARTIFACTS", "save_tensors"]

WeightsKind = Literal["final", "averaged"]

ARTIFACTS = {"predictions": "validation and test-set class probabilities",
             "averaged": "the averaged weights of [average]",
             "snapshots/snapshot-<k>": "the weights of each snapshot of [ensemble]"}
"""The artifacts a run may leave: name (``<name>.safetensors``) -> what it holds."""


class _History(Protocol):
    def to_json(self) -> str: ...


@dataclass(frozen=True)
class RunFolder:
    """The layout of one run's folder (nothing is created until something is written)."""

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def recipe(self) -> Path:
        return self.path / "recipe.toml"

    @property
    def history(self) -> Path:
        return self.path / "history.json"

    @property
    def predictions(self) -> Path:
        return self.artifact("predictions")

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    def weights(self, kind: WeightsKind | str = "final") -> Path:
        """The final weights, or with ``"averaged"`` the averaged ones."""
        return self.artifact("averaged") if kind == "averaged" else self.path / "weights.safetensors"

    def artifact(self, name: str) -> Path:
        """Where artifact ``name`` is written (``name`` may hold a subfolder, never leave it)."""
        path = self.path / f"{name}.safetensors"
        if not path.resolve().is_relative_to(self.path.resolve()):
            raise ValueError(f"artifact {name!r} would be written outside {str(self.path)!r}")
        return path

    def is_complete(self, weights: WeightsKind | str | None = "final") -> bool:
        """Whether the folder holds a finished run's history (and, unless ``None``, those
        weights)."""
        return self.history.is_file() and (weights is None or self.weights(weights).is_file())

    def read_recipe(self) -> dict[str, Any]:
        """The stored recipe as a plain dict."""
        from trainwell import _toml

        return _toml.read(self.recipe, what="run recipe")

    def write(self, *, recipe_toml: str, history: _History,
              weights: Mapping[str, torch.Tensor] | None = None,
              artifacts: Mapping[str, Mapping[str, torch.Tensor]] | None = None) -> list[Path]:
        """Write the recipe, (if given) the weights and each artifact, then the history, which
        marks the folder complete; return the paths written."""
        written = [atomic_write_text(self.recipe, recipe_toml)]
        if weights is not None:
            written.append(save_tensors(weights, self.weights("final")))
        for name, tensors in (artifacts or {}).items():
            written.append(save_tensors(tensors, self.artifact(name)))
        written.append(atomic_write_text(self.history, history.to_json()))
        return written


def save_tensors(tensors: Mapping[str, torch.Tensor], path: str | Path) -> Path:
    """Write named tensors as safetensors (on the CPU, contiguous), atomically."""
    from safetensors.torch import save

    return atomic_write_bytes(path, save({k: v.detach().cpu().contiguous()
                                          for k, v in tensors.items()}))
