"""The claim–submit–record loop of one driver process (see :mod:`trainwell.run.driver`).

A :class:`Dispatcher` claims runs in the store as the backend has room, submits them as
:class:`~trainwell.run.backend.Task` objects, and records each outcome as it comes back: the
run's folder first, then its row, so a finished row always has its folder. It beats for the
runs it holds, retries a run whose worker died, and on Ctrl-C records the runs in flight
``interrupted``.
"""

from __future__ import annotations

import collections
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainwell import _toml
from trainwell.execute import RunOutcome
from trainwell.loop import History
from trainwell.plan import RunSpec
from trainwell.run.backend import Backend, Event, Finished, Lost, Started, Task, worker_name
from trainwell.run.backend import Progress as ProgressEvent
from trainwell.run.store import FINISHED, Store
from trainwell.run_folder import RunFolder

__all__ = ["Dispatcher", "POLL_SECONDS", "HEARTBEAT_SECONDS", "STALE_AFTER_SECONDS"]

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 120.0
"""A run whose owner has not beaten for this long is taken over by another driver."""


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot; empty where /proc is missing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_alive(owner: str, host: str) -> bool:
    """False for an owner on this host whose process is gone (or is another process now);
    an owner on another host is judged by its heartbeat alone."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host:
        return True
    try:
        pid = int(parts[1])
        os.kill(pid, 0)
    except ValueError:
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not parts[2] or _process_start(pid) == parts[2]


class Dispatcher:
    """The claim–submit–record loop of one driver process."""

    def __init__(self, store: Store, backend: Backend, folder: Callable[[str], RunFolder], *,
                 retries: int, stale_after: float, resume: bool = True,
                 sources: dict[str, dict[str, torch.Tensor]] | None = None,
                 artifacts: bool = True, diagnose: bool = True) -> None:
        self.store, self.backend, self.folder = store, backend, folder
        self.resume, self.artifacts, self.diagnose = resume, artifacts, diagnose
        self.sources = sources or {}
        self.retries, self.stale_after = retries, stale_after
        self.host = socket.gethostname()
        self.owner = f"{worker_name()}:{_process_start(os.getpid())}"
        self.ran = 0
        self.held: set[str] = set()
        self.progress: dict[str, dict[str, Any]] = {}

    def run(self, todo: list[RunSpec], refresh: Callable[[dict[str, dict[str, Any]]], None]) -> bool:
        """Run ``todo``; True when the user interrupted."""
        specs = {s.id: s for s in todo}
        queue = collections.deque(s.id for s in todo)
        retry: collections.deque[str] = collections.deque()
        inflight: set[str] = set()
        lost: collections.Counter[str] = collections.Counter()
        beat = time.monotonic()
        try:
            while True:
                while self.backend.free() > 0 and (retry or queue):
                    rid = retry.popleft() if retry else queue.popleft()
                    if self._claim(rid, specs[rid].experiment):
                        self.backend.submit(Task(rid, specs[rid].recipe, attempt=lost[rid] + 1,
                                                 folder=self._written_while_training(specs[rid]),
                                                 source=self.sources.get(rid),
                                                 resume=self.resume, artifacts=self.artifacts,
                                                 diagnose=self.diagnose))
                        inflight.add(rid)
                        self.held.discard(rid)
                if not inflight:
                    return False
                for event in self.backend.poll(POLL_SECONDS):
                    self._handle(event, specs, inflight, lost, retry)
                if time.monotonic() - beat > HEARTBEAT_SECONDS:
                    self.store.beat(self.owner)
                    beat = time.monotonic()
                refresh(self.progress)
        except KeyboardInterrupt:
            self._abandon("interrupted by the user")
            return True
        except BaseException as exc:
            self._abandon(f"the driver stopped: {type(exc).__name__}: {exc}")
            raise

    def _written_while_training(self, spec: RunSpec) -> str | None:
        """The run's folder, for a run that writes checkpoints or live logs into it."""
        train = spec.recipe.get("train", {})
        if train.get("checkpoint_every") is None and train.get("log_to") is None:
            return None
        return str(self.folder(spec.id).path.resolve())

    def _claim(self, rid: str, experiment: str) -> bool:
        dead = [o for o in self.store.owners(experiment) if not _owner_alive(o, self.host)]
        if self.store.claim(rid, self.owner, stale_before=time.time() - self.stale_after,
                            dead_owners=dead):
            return True
        row = self.store.runs(ids=[rid])[0]
        if row.status not in FINISHED:
            self.held.add(rid)
        return False

    def _handle(self, event: Event, specs: dict[str, RunSpec], inflight: set[str],
                lost: collections.Counter[str], retry: collections.deque[str]) -> None:
        if isinstance(event, Started):
            self.store.set_worker(event.id, event.worker, event.device)
        elif isinstance(event, ProgressEvent):
            self.progress[event.id] = event.info
        elif isinstance(event, Finished):
            self._record(specs[event.id], event.outcome)
            inflight.discard(event.id)
        elif isinstance(event, Lost):
            lost[event.id] += 1
            inflight.discard(event.id)
            self.progress.pop(event.id, None)
            if lost[event.id] <= self.retries:
                retry.append(event.id)
            else:
                history = History(status="failed", error=f"{event.cause} (tried {lost[event.id]} "
                                  f"times: 1 + {self.retries} retries)")
                self._record(specs[event.id], None, history)

    def _record(self, spec: RunSpec, outcome: RunOutcome | None,
                history: History | None = None) -> None:
        """Write the run's folder (its weights and artifacts only with ``artifacts``), then its
        row: a finished row always has its folder."""
        history = outcome.history if outcome is not None else history
        assert history is not None
        keep = self.artifacts and outcome is not None and history.status == "done"
        self.folder(spec.id).write(recipe_toml=_toml.dumps(spec.recipe), history=history,
                                   weights=outcome.weights if keep and outcome else None,
                                   artifacts=outcome.artifacts if keep and outcome else None)
        self.store.finish(spec.id, history, device=outcome.device if outcome else None,
                          worker=outcome.worker if outcome else None)
        self.progress.pop(spec.id, None)
        self.ran += 1

    def _abandon(self, why: str) -> None:
        """Cancel the work in flight and record every run this driver holds ``interrupted``:
        those in flight and one claimed a moment before it could be handed over."""
        self.backend.cancel()
        self.store.release(self.owner, "interrupted", error=why)
