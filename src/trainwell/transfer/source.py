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
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainwell.errors import ConfigError
from trainwell.run_folder import RunFolder

__all__ = ["SourceFiles", "find_source", "file_digest", "read_weights", "load_into",
           "HEAD", "PICKLE_SUFFIXES", "weight_shapes", "header_shapes", "check_fits"]

HEAD = "head"
"""The state-dict prefix of every built-in model's classifier."""

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
_KEY = "transfer.from"
_MAX_HEADER = 100_000_000  # safetensors refuses larger headers too


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

    weight_shapes(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConfigError(_KEY, str(path), f"a readable safetensors weights file ({exc})") from None


def weight_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor of a safetensors file, read from its header alone.

    A safetensors file starts with the length of its JSON header (a little-endian u64) and
    that header, so the file is taken for what its header says: parsing it runs no code. Only
    a file whose header does not parse and that carries a pickle's or a zip's signature
    (``torch.save``) is called a pickle; :class:`ConfigError` naming ``transfer.from`` either way.

    >>> import io, json
    >>> header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})
    >>> header_shapes(len(header).to_bytes(8, "little") + header.encode())
    {'w': (2, 3)}
    >>> header_shapes(b"\\x80\\x02}q\\x00(X\\x05") is None
    True
    """
    try:
        with open(path, "rb") as f:
            start = f.read(8)
            size = int.from_bytes(start, "little") if len(start) == 8 else 0
            shapes = header_shapes(start + f.read(size)) if 2 <= size <= _MAX_HEADER else None
    except OSError as exc:
        raise ConfigError(_KEY, str(path), f"a readable safetensors weights file ({exc})") from None
    if shapes is not None:
        return shapes
    if start[:1] == b"\x80" or start[:2] == b"PK":
        raise ConfigError(_KEY, str(path), "a safetensors weights file; this one is a pickle "
                          "(torch.save), refused: loading one can run arbitrary code")
    raise ConfigError(_KEY, str(path), "a safetensors weights file; its header does not parse")


def header_shapes(data: bytes) -> dict[str, tuple[int, ...]] | None:
    """The tensor shapes in the safetensors header at the start of ``data``; ``None`` when
    ``data`` does not start with one."""
    if len(data) < 8:
        return None
    size = int.from_bytes(data[:8], "little")
    if not 2 <= size <= min(_MAX_HEADER, len(data) - 8):
        return None
    try:
        parsed = json.loads(data[8:8 + size].decode("utf-8"))
        return {name: tuple(int(n) for n in entry["shape"]) for name, entry in parsed.items()
                if name != "__metadata__"}
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
        return None


def check_fits(target: Mapping[str, tuple[int, ...]], source: Mapping[str, tuple[int, ...]], *,
               head: str = "new", value: object = "source weights") -> list[str]:
    """The names of ``target``'s tensors (name → shape) that take the ``source``'s; raises
    :class:`ConfigError` naming ``transfer.from`` and the layers that differ, when a name is
    missing from the source or has another shape there. With ``head = "new"`` the classifier's
    tensors are the target's own; ``value`` is what the message shows as the source.

    >>> check_fits({"0.weight": (2, 3), "head.weight": (4, 2)}, {"0.weight": (2, 3)})
    ['0.weight']
    """
    wanted = [k for k in target if head == "keep" or not (k == HEAD or k.startswith(HEAD + "."))]
    problems = []
    for k in wanted:
        if k not in source:
            problems.append(f"{k} (not in the source)")
        elif tuple(source[k]) != tuple(target[k]):
            problems.append(f"{k} (source {list(source[k])}, target {list(target[k])})")
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        hint = (' (head = "keep" needs the same classes as the source: use head = "new")'
                if all(p.startswith(HEAD) for p in problems) else "")
        raise ConfigError(_KEY, value, "a source of the same architecture up to the "
                          f"head; these layers differ: {shown}{hint}")
    return wanted


def load_into(model: torch.nn.Module, weights: Mapping[str, torch.Tensor], *,
              head: str = "new", source: str = "source weights") -> dict[str, Any]:
    """Copy the source ``weights`` into ``model``: every tensor of its state dict, except the
    classifier's with ``head = "new"``. Every other name must exist in the source with the same
    shape, or :class:`ConfigError` names the layers that differ (and ``source``, where the
    weights come from). Returns a summary.

    >>> src, dst = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    >>> load_into(dst, src.state_dict(), head="keep")["copied"]
    2
    >>> torch.equal(dst.weight, src.weight)
    True
    """
    target = model.state_dict()
    names = check_fits({k: tuple(v.shape) for k, v in target.items()},
                       {k: tuple(v.shape) for k, v in weights.items()}, head=head, value=source)
    wanted = {k: target[k] for k in names}
    with torch.no_grad():
        for k, v in wanted.items():
            target[k].copy_(weights[k].to(device=v.device, dtype=v.dtype))
    unused = sorted(set(weights) - set(wanted))
    return {"copied": len(wanted), "new": sorted(set(target) - set(wanted)), "unused": unused}
