"""Checkpoints a run resumes from exactly: every state that decides what comes next.

A checkpoint is a folder ``<folder>/epoch-<k>/`` (``k`` epochs done) holding

- ``weights.safetensors``: the model's ``state_dict``;
- ``optimizer.safetensors``: the optimizer's per-parameter tensors (``state.<i>.<name>``);
- ``rng.safetensors``: the shuffling generator, torch's global CPU generator (dropout and
  the other layers that draw while training use it) and, on CUDA, every device's generator;
- ``callbacks.safetensors``: the tensors of each :class:`~trainwell.loop.stateful.Stateful`
  callback (``<Name>.<path>``);
- ``state.json``: epoch, step, the optimizer's param groups and non-tensor state, the
  callbacks' non-tensor state and the model's non-tensor entries;
- ``history.json``: the :class:`~trainwell.loop.History` so far;
- ``manifest.json``, written last: the sha256 of every other file, ``meta`` (what the
  caller attached, such as the recipe), and ``digest``, the sha256 of the manifest's own
  content, so an edited epoch or step is caught like a damaged file.

The generator state carries the epoch and step it was taken at (:mod:`trainwell.loop.vouch`).

No file is a pickle. Each file is written atomically and synced, the folder is assembled
under a temporary name and renamed into place, so a kill leaves the previous checkpoint
whole. A checkpoint is good when its manifest matches its digest, every file its checksum,
and the manifest's epoch and step both the history saved beside them (epochs and step
losses recorded) and the counts its generator state was saved at; a damaged one is skipped
for the one before it, and the :class:`Checkpoint` resumed says which newer ones were
skipped and why (``skipped``).
:class:`Checkpoints` keeps the last ``keep`` good ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell._io import atomic_write_bytes, atomic_write_text
from trainwell.errors import ConfigError
from trainwell.loop.events import TrainState
from trainwell.loop.vouch import MANIFEST, check_counts, done_counts

__all__ = ["Checkpoint", "Checkpoints", "latest_checkpoint", "read_checkpoint", "manifest_digest",
           "MANIFEST"]

FORMAT = 2
_NAME = re.compile(r"epoch-(\d+)")


@dataclass(frozen=True)
class Checkpoint:
    """A good checkpoint folder: ``epoch`` epochs and ``step`` optimizer steps done, of a run
    of ``epochs`` x ``steps_per_epoch`` steps; ``meta`` as its writer attached it."""

    path: Path
    epoch: int
    step: int
    epochs: int
    steps_per_epoch: int
    meta: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    """Why each newer checkpoint of the folder was not taken (damaged), newest first."""

    def fallback_note(self) -> str | None:
        """One line saying that newer checkpoints were damaged and this one is resumed instead
        (``None`` when it is the newest)."""
        if not self.skipped:
            return None
        more = f" (and {len(self.skipped) - 1} more)" if len(self.skipped) > 1 else ""
        return f"skipped a damaged checkpoint: {self.skipped[0]}{more}; resuming from epoch {self.epoch}"


def read_checkpoint(path: str | Path) -> tuple[Checkpoint, dict[str, bytes]]:
    """The checkpoint in folder ``path`` and the bytes of its files, each checked against the
    manifest; raises :class:`ValueError` saying what is missing or damaged."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        claimed = manifest.get("digest")
        signed = int(manifest["format"]) >= 2  # manifests of format 1 carry no digest
        listed = manifest["files"]
        found = Checkpoint(path, int(manifest["epoch"]), int(manifest["step"]),
                           int(manifest["epochs"]), int(manifest["steps_per_epoch"]),
                           dict(manifest.get("meta") or {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: no readable manifest ({type(exc).__name__}: {exc})") from None
    if (signed or claimed is not None) and claimed != manifest_digest(manifest):
        raise ValueError(f"{path}: {MANIFEST} does not match its digest (edited or damaged)")
    files: dict[str, bytes] = {}
    for name, digest in listed.items():
        try:
            data = (path / name).read_bytes()
        except OSError:
            raise ValueError(f"{path}: {name} is missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"{path}: {name} does not match its checksum")
        files[name] = data
    check_counts(path, found.epoch, found.step, files)
    return found, files


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """The sha256 of a manifest's content (without its ``digest``), keys sorted."""
    content = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def _good(path: Path) -> Checkpoint | None:
    try:
        return read_checkpoint(path)[0]
    except ValueError:
        return None


def _epochs(folder: Path) -> list[tuple[int, Path]]:
    """The ``epoch-<k>`` folders in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir()
             if p.is_dir() and (m := _NAME.fullmatch(p.name))]
    return sorted(found, reverse=True)


def latest_checkpoint(folder: str | Path, *, meta: Mapping[str, Any] | None = None
                      ) -> Checkpoint | None:
    """The newest good checkpoint in ``folder`` (``None`` when there is none).

    With ``meta``, it must have been written with the same ``meta``: otherwise
    :class:`~trainwell.errors.ConfigError` names the first key that differs (a checkpoint of
    another recipe is never resumed by mistake).
    """
    skipped: list[str] = []
    for _, path in _epochs(Path(folder)):
        try:
            found = read_checkpoint(path)[0]
        except ValueError as exc:
            skipped.append(str(exc))
            continue
        found = dataclasses.replace(found, skipped=tuple(skipped))
        if meta is not None:
            key = _difference(dict(meta), found.meta)
            if key is not None:
                ours, theirs = _at(meta, key), _at(found.meta, key)
                raise ConfigError(key, ours, f"{theirs!r}, as in the checkpoint {path} that "
                                  "would be resumed (or train without resuming, from scratch)")
        return found
    return None


def _difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = _difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    return None if a == b else path or "meta"


def _at(tree: Any, key: str) -> Any:
    for part in key.split("."):
        tree = tree.get(part) if isinstance(tree, Mapping) else None
    return tree


class Checkpoints:
    """Where and how often a run writes checkpoints: every ``every`` epochs and when training
    ends (its last epoch, or a :class:`~trainwell.loop.StopTraining`), into ``folder``,
    keeping the newest ``keep`` good ones. ``meta`` (JSON) goes into each manifest.

    Pass it to :func:`~trainwell.loop.fit`; resume with ``fit(..., resume=checkpoint)``.

    >>> Checkpoints("runs/x/checkpoints", every=5).due(10, epochs=12)
    True
    """

    def __init__(self, folder: str | Path, *, every: int = 1, keep: int = 2,
                 meta: Mapping[str, Any] | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("train.checkpoint_every", every, "an integer >= 1")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"Invalid number of checkpoints to keep: {keep!r} (at least 1)")
        self.folder, self.every, self.keep = Path(folder), every, keep
        self.meta = dict(meta or {})

    def due(self, epoch: int, epochs: int) -> bool:
        """Whether a checkpoint is written after ``epoch`` (1-based) of ``epochs``."""
        return epoch % self.every == 0 or epoch == epochs

    def latest(self) -> Checkpoint | None:
        """The newest good checkpoint in the folder."""
        return latest_checkpoint(self.folder)

    def clear(self, *, after: int = 0) -> None:
        """Delete the checkpoints of epochs after ``after`` and unfinished folders: a run
        that starts at epoch ``after`` must never resume from another run's later state."""
        for epoch, path in _epochs(self.folder):
            if epoch > after:
                shutil.rmtree(path, ignore_errors=True)
        self._remove_unfinished()

    def save(self, state: TrainState, files: Mapping[str, bytes]) -> Checkpoint:
        """Write the checkpoint of ``state`` made of ``files`` (name → bytes, from
        :func:`~trainwell.loop.capture.capture_state`), then prune the older ones."""
        epoch, step = done_counts(state.history)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.folder, prefix=f".epoch-{epoch}.", suffix=".tmp"))
        try:
            os.chmod(tmp, 0o777 & ~_umask())
            for name, data in files.items():
                atomic_write_bytes(tmp / name, data)
            manifest: dict[str, Any] = {
                "format": FORMAT, "epoch": epoch, "step": step, "epochs": state.epochs,
                "steps_per_epoch": state.steps_per_epoch, "meta": self.meta,
                "files": {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}}
            manifest["digest"] = manifest_digest(manifest)
            atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1))
            _fsync_dir(tmp)
            final = self.folder / f"epoch-{epoch}"
            if final.exists():
                os.replace(final, final.with_name(f".{final.name}.old.tmp"))
            os.replace(tmp, final)
            _fsync_dir(self.folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune(epoch)
        return Checkpoint(final, epoch, step, state.epochs, state.steps_per_epoch, self.meta)

    def _prune(self, newest: int) -> None:
        """Keep checkpoint ``newest`` and the ``keep - 1`` good ones before it; delete the
        rest (damaged ones, and later ones of an abandoned attempt)."""
        kept = 1
        for epoch, path in _epochs(self.folder):
            if epoch == newest:
                continue
            if epoch < newest and kept < self.keep and _good(path) is not None:
                kept += 1
            else:
                shutil.rmtree(path, ignore_errors=True)
        self._remove_unfinished()

    def _remove_unfinished(self) -> None:
        if self.folder.is_dir():
            for path in self.folder.glob(".epoch-*.tmp"):
                shutil.rmtree(path, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries (new names, renames) durable; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
