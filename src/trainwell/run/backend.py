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
(``train.log_to``), which the worker writes as it trains, into the run folder its
:class:`Task` names.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from trainwell.callback_order import ORDER
from trainwell.data import Dataset
from trainwell.execute import RunOutcome, execute, prepare_data, resume_point
from trainwell.loop import Callback, History, TrainState, resolve_device, set_threads
from trainwell.recipe import Recipe
from trainwell.run_context import RunContext
from trainwell.run_folder import RunFolder

__all__ = ["Task", "Started", "Progress", "Finished", "Lost", "Event", "Backend", "run_task",
           "prepared_data",
           "placed_device", "worker_name"]


@dataclass(frozen=True)
class Task:
    """One run to execute: its id, resolved recipe (a plain dict) and attempt number.

    ``source``: the weights of the recipe's ``[transfer]`` source, which the driver reads (or
    trains first) and sends along, so no worker needs the source's folder.
    ``folder``: the run's folder (:class:`~trainwell.run_folder.RunFolder`), for a run that
    writes into it while it trains: checkpoints (resumed from on a rerun after a kill) and
    TensorBoard events; ``None``: neither. The local backend's workers share the driver's disk;
    with Ray on several machines what a worker writes there lives on its node, so a run resumes
    only where that folder is visible (a shared folder for all nodes); elsewhere it starts from
    scratch, and a node that cannot create the folder trains without writing.
    ``resume``: continue from the newest good checkpoint in the folder (else start over).
    ``artifacts``: the run's artifacts are kept; without, a run whose final prediction is its
    trained model's computes no predictions (:attr:`RunContext.artifacts
    <trainwell.run_context.RunContext>`). ``diagnose``: the trained model is judged (the final
    diagnosis, the training set's final metrics; :attr:`RunContext.diagnose
    <trainwell.run_context.RunContext>`).
    """

    id: str
    recipe: dict[str, Any]
    attempt: int = 1
    folder: str | None = None
    source: dict[str, torch.Tensor] | None = None
    resume: bool = True
    artifacts: bool = True
    diagnose: bool = True


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


def prepared_data(recipe: Recipe, device: str) -> Dataset:
    """The recipe's data on ``device``, kept for the next run with the same data there."""
    key = repr((recipe.data.to_dict(), device))
    dataset = _data_cache.get(key)
    if dataset is None:
        _data_cache.clear()
        dataset = _data_cache[key] = prepare_data(recipe, resolve_device(device))
    return dataset


def run_task(task: Task, *, slot: str | None = None, threads: int = 1,
             progress: Callable[[dict[str, Any]], None] | None = None,
             callbacks: Sequence[Callback] = (), keep_model: bool = False) -> RunOutcome:
    """Execute one task in this process and return its outcome (the worker's side of every
    backend). Sets torch's thread count first: pooled workers keep an earlier task's. The
    prepared dataset is kept for the next task with the same data on the same device. With
    ``task.folder`` the run resumes from its last good checkpoint there, if any."""
    if threads > 0:
        set_threads(threads)
    recipe = Recipe.from_dict(task.recipe)
    device = placed_device(recipe.train.device, slot)
    try:
        dataset: Dataset | None = prepared_data(recipe, device)
    except Exception:  # execute records the failure itself
        dataset = None
    folder = _writable(task.folder)
    try:
        start = (resume_point(recipe, folder.checkpoints)
                 if folder is not None and task.resume else None)
    except Exception as exc:  # a checkpoint of another recipe: the run fails, with the reason
        return RunOutcome(recipe, History.failed(exc, phase="resume"), device=device)
    extra = [*callbacks, *([_EpochReporter(progress)] if progress is not None else [])]
    outcome = execute(recipe, RunContext(device=device, folder=folder, resume=start,
                                         source=task.source, dataset=dataset,
                                         callbacks=extra, keep_model=keep_model,
                                         artifacts=task.artifacts, diagnose=task.diagnose))
    outcome.worker = worker_name()
    return outcome


def _writable(folder: str | None) -> RunFolder | None:
    """The run folder ``folder`` if this process can make it (a node without the driver's
    disk may not)."""
    if folder is None:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return RunFolder(folder)
