"""What a backend does: take runs, give back their outcomes as they complete, cancel.

The driver (:mod:`trainwell.run.driver`) claims runs in the store and submits them as
:class:`Task` objects; a backend executes each with :func:`run_task` somewhere (a local worker
process, a Ray task on any node) and reports :data:`Event` objects from :meth:`Backend.poll`:

- :class:`Started`: a worker took the run (which one, on which device);
- :class:`Progress`: an epoch ended (backends that can stream it);
- :class:`Finished`: the run's :class:`~trainwell.execute.RunOutcome` came back;
- :class:`Lost`: the worker, process or node running it died; the driver retries the run.

Backends never write the store or the run folders: the driver is their only writer. The
exceptions are a run's checkpoints (``train.checkpoint_every``) and its TensorBoard events
(``train.log_to``), which the worker writes as it trains, into the folders its :class:`Task`
names.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from trainwell.callback_order import ORDER
from trainwell.execute import RunOutcome, execute, prepare_data
from trainwell.loop import Callback, TrainState, resolve_device, set_threads
from trainwell.recipe import Recipe

__all__ = ["Task", "Started", "Progress", "Finished", "Lost", "Event", "Backend", "run_task",
           "placed_device", "worker_name"]


@dataclass(frozen=True)
class Task:
    """One run to execute: its id, resolved recipe (a plain dict) and attempt number.

    ``source``: the weights of the recipe's ``[transfer]`` source, which the driver reads (or
    trains first) and sends along, so no worker needs the source's folder.
    ``checkpoint_dir``: where the run writes its checkpoints and resumes from the last good
    one (a rerun after a kill continues instead of starting over); ``None``: no checkpoints.
    The local backend's workers share the driver's disk; with Ray on several machines a
    checkpoint lives on the node that wrote it, so a run resumes only where that folder is
    visible (a shared folder for all nodes); elsewhere it starts from scratch, and a node that
    cannot create the folder trains without checkpoints.
    ``log_dir``: where a run with ``train.log_to`` writes its TensorBoard events as it trains
    (on the node that trains it, like checkpoints); ``None``: no live logging.
    """

    id: str
    recipe: dict[str, Any]
    attempt: int = 1
    checkpoint_dir: str | None = None
    source: dict[str, torch.Tensor] | None = None
    log_dir: str | None = None


@dataclass(frozen=True)
class Started:
    id: str
    worker: str
    device: str | None = None


@dataclass(frozen=True)
class Progress:
    id: str
    info: dict[str, Any]


@dataclass(frozen=True)
class Finished:
    id: str
    outcome: RunOutcome


@dataclass(frozen=True)
class Lost:
    id: str
    cause: str


Event = Started | Progress | Finished | Lost


class Backend(Protocol):
    """Where runs execute. ``free()`` is how many more tasks it takes now."""

    name: str

    def free(self) -> int: ...

    def submit(self, task: Task) -> None: ...

    def poll(self, timeout: float) -> list[Event]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def worker_name(pid: int | None = None) -> str:
    """``host:pid`` of process ``pid`` on this host (default: this process)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def placed_device(recipe_device: str, slot: str | None) -> str:
    """Where a run with ``train.device = recipe_device`` trains on a worker whose device is
    ``slot`` (``None``: a CPU worker). A backend places ``auto`` and ``cuda`` runs on its GPUs;
    ``cpu`` and an explicit ``cuda:N`` stay as the recipe says.

    >>> placed_device("auto", None), placed_device("auto", "cuda:1"), placed_device("cpu", "cuda:1")
    ('cpu', 'cuda:1', 'cpu')
    """
    if recipe_device in ("auto", "cuda") and slot is not None:
        return slot
    if recipe_device == "auto":
        return "cpu"
    return recipe_device


class _EpochReporter(Callback):
    order = ORDER["live"]

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self.send = send

    def after_epoch(self, state: TrainState) -> None:
        last = state.history.epochs[-1]
        self.send({"epoch": last["epoch"], "epochs": state.epochs, "loss": last["train_loss"]})


_data_cache: dict[str, Any] = {}


def run_task(task: Task, *, slot: str | None = None, threads: int = 1,
             progress: Callable[[dict[str, Any]], None] | None = None) -> RunOutcome:
    """Execute one task in this process and return its outcome (the worker's side of every
    backend). Sets torch's thread count first: pooled workers keep an earlier task's. The
    prepared dataset is kept for the next task with the same data on the same device. With
    ``task.checkpoint_dir`` the run resumes from its last good checkpoint there, if any."""
    set_threads(max(1, threads))
    recipe = Recipe.from_dict(task.recipe)
    device = placed_device(recipe.train.device, slot)
    key = repr((recipe.data.to_dict(), device))
    dataset = _data_cache.get(key)
    if dataset is None:
        _data_cache.clear()
        try:
            dataset = prepare_data(recipe, resolve_device(device))
        except Exception:  # execute records the failure itself
            dataset = None
        else:
            _data_cache[key] = dataset
    callbacks = [_EpochReporter(progress)] if progress is not None else []
    checkpoints = _writable(task.checkpoint_dir)
    outcome = execute(recipe, callbacks=callbacks, dataset=dataset, device=device,
                      checkpoint_dir=checkpoints, resume=checkpoints is not None,
                      source=task.source, log_dir=_writable(task.log_dir))
    outcome.worker = worker_name()
    return outcome


def _writable(folder: str | None) -> Path | None:
    """``folder`` if this process can make it (a node without the driver's disk may not)."""
    if folder is None:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return Path(folder)
