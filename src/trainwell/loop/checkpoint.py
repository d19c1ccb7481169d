"""Save and load what a run produced: resolved recipe, history, final weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file

from trainwell.loop.history import History
from trainwell.run_folder import RunFolder, save_tensors

__all__ = ["save_run", "load_history", "save_weights", "save_tensors", "load_weights"]


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` as safetensors, atomically."""
    return save_tensors(model.state_dict(), path)


def load_weights(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load safetensors weights written by :func:`save_weights` into ``model``."""
    model.load_state_dict(load_file(str(path)))
    return model


def save_run(out_dir: str | Path, *, recipe_toml: str, history: History,
             weights: Mapping[str, torch.Tensor] | None,
             artifacts: Mapping[str, Mapping[str, torch.Tensor]] | None = None) -> list[Path]:
    """Write a run's folder (:meth:`trainwell.run_folder.RunFolder.write`); return the paths
    written. History last: a folder with a history has everything else."""
    return RunFolder(out_dir).write(recipe_toml=recipe_toml, history=history, weights=weights,
                                    artifacts=artifacts)


def load_history(path: str | Path) -> History:
    return History.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
