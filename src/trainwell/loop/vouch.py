"""What a checkpoint's own files vouch for: the epochs and steps done when it was written.

A manifest's ``epoch`` and ``step`` decide where a resumed run continues, so they are not
taken on the manifest's word alone. Two files saved beside them record the same counts:

- ``history.json``: one entry per epoch done and one loss per optimizer step;
- ``rng.safetensors``: the generators' state carries, in its header's metadata, the epoch and
  step it was captured at (the state after that many steps, and no other).

A checkpoint whose manifest disagrees with either is damaged. A generator state written
without those fields (an older checkpoint) vouches for nothing and is accepted.

>>> rng_metadata(3, 24)
{'epoch': '3', 'step': '24'}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from trainwell.loop.history import History

__all__ = ["done_counts", "rng_metadata", "rng_counts", "check_counts"]

MANIFEST = "manifest.json"


def done_counts(history: History) -> tuple[int, int]:
    """The epochs and optimizer steps a run's ``history`` records as done."""
    return len(history.epochs), len(history.step_loss)


def rng_metadata(epoch: int, step: int) -> dict[str, str]:
    """The metadata that ties a saved generator state to the epoch and step it was taken at."""
    return {"epoch": str(epoch), "step": str(step)}


def rng_counts(data: bytes) -> tuple[int, int] | None:
    """The epoch and step a saved generator state (``rng.safetensors`` bytes) was taken at;
    ``None`` when it does not say (written before it carried them). Raises
    :class:`ValueError` when its header does not parse or the counts are not integers.

    >>> from safetensors.torch import save
    >>> import torch
    >>> rng_counts(save({"torch": torch.zeros(2)}, metadata=rng_metadata(2, 16)))
    (2, 16)
    >>> rng_counts(save({"torch": torch.zeros(2)})) is None
    True
    """
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if not 2 <= size <= len(data) - 8:
        raise ValueError("its header length does not fit the file")
    header = json.loads(data[8:8 + size].decode("utf-8"))
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "epoch" not in meta or "step" not in meta:
        return None
    return int(meta["epoch"]), int(meta["step"])


def check_counts(path: Path, epoch: int, step: int, files: Mapping[str, bytes]) -> None:
    """Raise :class:`ValueError` when the manifest's ``epoch`` and ``step`` of the checkpoint
    at ``path`` disagree with its history or its generator state (``files``: name → bytes)."""
    if "history.json" in files:
        try:
            saved = json.loads(files["history.json"])
            counts = len(saved["epochs"]), len(saved["step_loss"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: history.json is not a history ({exc})") from None
        if (epoch, step) != counts:
            raise ValueError(f"{path}: {MANIFEST} says epoch {epoch}, step {step}; its history "
                             f"has {counts[0]} epochs, {counts[1]} steps")
    if "rng.safetensors" in files:
        try:
            taken = rng_counts(files["rng.safetensors"])
        except (ValueError, UnicodeDecodeError, TypeError) as exc:
            raise ValueError(f"{path}: rng.safetensors is not a generator state ({exc})") from None
        if taken is not None and (epoch, step) != taken:
            raise ValueError(f"{path}: {MANIFEST} says epoch {epoch}, step {step}; its generator "
                             f"state was saved at epoch {taken[0]}, step {taken[1]}")
