"""Where transferred weights come from, and how they enter the target network.

A ``[transfer] from`` names one of:

- a run folder (``runs/transfer-source/3f2a9c1d0b4e``): its ``recipe.toml`` and
  ``weights.safetensors`` (or ``averaged.safetensors`` with ``weights = "averaged"``);
- a weights file (``.safetensors``) with the ``recipe.toml`` of the run that wrote it beside it;
- a recipe (a ``.toml`` file, or an inline table): trainwell trains it first, once, as a run
  of its own, and takes its weights.

Weights are read only as safetensors: a pickle file (``.pt``, ``.pth``, ``.pkl``: loading one can
run arbitrary code) is refused. The target takes every layer whose name and shape match the
source; with ``head = "new"`` the classifier is left as the target's recipe initialized it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainwell.errors import ConfigError
from trainwell.run_folder import RunFolder

__all__ = ["SourceFiles", "find_source", "file_digest", "read_weights", "load_into",
           "HEAD", "PICKLE_SUFFIXES"]

HEAD = "head"
"""The state-dict prefix of every built-in model's classifier."""

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
_KEY = "transfer.from"


@dataclass(frozen=True)
class SourceFiles:
    """A source on disk: its weights file and the recipe of the run that wrote them."""

    weights: Path
    recipe: Path


def find_source(path: str | Path, *, weights: str = "final") -> SourceFiles:
    """The files of a run folder or a weights file; :class:`ConfigError` naming ``transfer.from``
    when something is missing or the weights are not safetensors."""
    p = Path(path)
    folder = RunFolder(p)
    name = folder.weights(weights).name
    if p.suffix.lower() in PICKLE_SUFFIXES:
        raise ConfigError(_KEY, str(path), "a run folder or a .safetensors weights file "
                          "(pickle files are refused: loading one can run arbitrary code)")
    if p.is_dir():
        files = SourceFiles(folder.weights(weights), folder.recipe)
    elif p.is_file() and p.suffix == ".safetensors":
        files = SourceFiles(p, RunFolder(p.parent).recipe)
    else:
        raise ConfigError(_KEY, str(path), "an existing run folder, a .safetensors weights file "
                          "with its recipe.toml beside it, a recipe .toml file, or an inline "
                          "recipe table")
    for f, what in ((files.weights, f"its {name}"), (files.recipe, "its recipe.toml")):
        if not f.is_file():
            hint = (" (the source run did not average its weights: set transfer.weights = "
                    "\"final\")" if weights == "averaged" and f == files.weights else "")
            raise ConfigError(_KEY, str(path), f"a source with {what}: {str(f)!r} is missing{hint}")
    return files


def file_digest(path: str | Path) -> str:
    """The first 16 hex digits of the SHA-256 of a file: a changed source changes it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file; :class:`ConfigError` for anything else (a pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    with open(path, "rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80" or head == b"PK":
        raise ConfigError(_KEY, str(path), "a safetensors weights file; this one is a pickle "
                          "(torch.save), refused: loading one can run arbitrary code")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConfigError(_KEY, str(path), f"a readable safetensors weights file ({exc})") from None


def load_into(model: torch.nn.Module, weights: Mapping[str, torch.Tensor], *,
              head: str = "new") -> dict[str, Any]:
    """Copy the source ``weights`` into ``model``: every tensor of its state dict, except the
    classifier's with ``head = "new"``. Every other name must exist in the source with the same
    shape, or :class:`ConfigError` names the layers that differ. Returns a summary.

    >>> src, dst = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    >>> load_into(dst, src.state_dict(), head="keep")["copied"]
    2
    >>> torch.equal(dst.weight, src.weight)
    True
    """
    target = model.state_dict()
    wanted = {k: v for k, v in target.items()
              if head == "keep" or not (k == HEAD or k.startswith(HEAD + "."))}
    problems = []
    for k, v in wanted.items():
        if k not in weights:
            problems.append(f"{k} (not in the source)")
        elif tuple(weights[k].shape) != tuple(v.shape):
            problems.append(f"{k} (source {list(weights[k].shape)}, target {list(v.shape)})")
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        hint = (' (head = "keep" needs the same classes as the source: use head = "new")'
                if all(p.startswith(HEAD) for p in problems) else "")
        raise ConfigError(_KEY, "source weights", "a source of the same architecture up to the "
                          f"head; these layers differ: {shown}{hint}")
    with torch.no_grad():
        for k, v in wanted.items():
            target[k].copy_(weights[k].to(device=v.device, dtype=v.dtype))
    unused = sorted(set(weights) - set(wanted))
    return {"copied": len(wanted), "new": sorted(set(target) - set(wanted)), "unused": unused}
