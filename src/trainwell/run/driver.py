"""The driver: claims a sweep's runs, hands them to a backend, and alone writes what comes back.

1. Every run of the grid is validated first: bad input fails before anything is written.
2. The experiment and its runs are registered; finished runs (done, diverged, failed) are
   skipped, so rerunning a command resumes it, also after a SIGKILL.
3. Runs are claimed one at a time as the backend has room: the store records this driver as
   their owner and its heartbeat. A second driver on the same experiment takes only runs that
   nobody holds (or whose owner stopped beating, or died on this host) and leaves when none
   are left.
4. As outcomes come back, in the order they complete, the driver writes each run's folder
   (recipe, history, weights, predictions, snapshots) and records it in the store: a cluster
   needs no shared disk.
5. A run whose worker died is retried (``retries`` times), then recorded ``failed`` with the
   cause; no other run is touched.
6. Ctrl-C cancels the work in flight, records it ``interrupted`` (run again next time) and
   keeps every finished run.
7. A run with ``train.checkpoint_every`` writes checkpoints into ``<run folder>/checkpoints``
   as it trains; a retry, or a rerun of an interrupted run or of one whose driver was killed,
   resumes from the last good one there instead of epoch 0 (with Ray on several machines,
   only where that folder is shared: see :class:`~trainwell.run.backend.Task`).
   A run with ``train.log_to = "tensorboard"`` writes its events into
   ``<run folder>/tensorboard`` as it trains, so ``tensorboard --logdir <experiment folder>``
   shows the sweep's runs live.
8. Transfer sources given as recipes are trained first, once, as the experiment
   ``<experiment>-source``; every target's task carries its source's weights
   (:mod:`trainwell.run.sources`).
"""

from __future__ import annotations

import collections
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from trainwell import _toml
from trainwell.execute import RunOutcome
from trainwell.loop import History, save_run
from trainwell.run.backend import Backend, Event, Finished, Lost, Started, Task, worker_name
from trainwell.run.backend import Progress as ProgressEvent
from trainwell.run.display import SweepDisplay
from trainwell.run.sources import source_specs, transfer_weights
from trainwell.run.store import DB_NAME, FINISHED, RunSpec, Store
from trainwell.sweep import Sweep, format_point, run_id

__all__ = ["run_sweep", "SweepOutcome", "plan", "POLL_SECONDS", "HEARTBEAT_SECONDS",
           "STALE_AFTER_SECONDS"]

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 120.0
"""A run whose owner has not beaten for this long is taken over by another driver."""


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did. ``held`` counts runs left to other drivers."""

    folder: Path
    experiment: str
    total: int
    skipped: int
    ran: int
    statuses: dict[str, int]
    interrupted: bool = False
    held: int = 0
    failed: list[str] = field(default_factory=list)


def plan(sweep: Sweep) -> tuple[list[RunSpec], dict[str, Any]]:
    """Validate and expand ``sweep``: the runs to record and the fixed recipe part."""
    specs = []
    for point, seed, recipe in sweep.recipes():
        resolved = recipe.to_dict()
        specs.append(RunSpec(id=run_id(resolved), experiment=sweep.experiment,
                             label=format_point(point), point=point, seed=seed, recipe=resolved))
    return specs, sweep.fixed()


def run_sweep(sweep: Sweep, *, root: str | Path = "runs", backend: Backend | None = None,
              workers: int | None = None, retries: int = 2, quiet: bool = False,
              console: Console | None = None,
              stale_after: float = STALE_AFTER_SECONDS) -> SweepOutcome:
    """Run every unfinished run of ``sweep`` into ``root/<experiment>/`` and return a summary.

    ``backend`` defaults to local worker processes (``workers`` of them, one per core by
    default); the driver closes it when done.

    >>> outcome = run_sweep(load_sweep("sweep.toml"), workers=2)  # doctest: +SKIP
    """
    specs, fixed = plan(sweep)
    folder = Path(root) / sweep.experiment
    sources = source_specs(specs, f"{sweep.experiment}-source")
    console = console or Console(stderr=True)
    holder: list[Backend] = [backend] if backend is not None else []

    def get_backend() -> Backend:
        if not holder:
            from trainwell.run import make_backend

            holder.append(make_backend("local", workers=workers))
        return holder[0]

    try:
        if sources:
            source_folder = Path(root) / sources[0].experiment
            _run_specs(sources, {"axes": ["source"] if len(sources) > 1 else [], "fixed": {},
                                 "note": f"transfer sources of {sweep.experiment}"},
                       source_folder, get_backend, retries=retries, quiet=quiet,
                       console=console, stale_after=stale_after)
        return _run_specs(specs, {"axes": [a.key for a in sweep.axes], "fixed": fixed,
                                  "note": str(sweep.base.get("note", ""))},
                          folder, get_backend, retries=retries, quiet=quiet, console=console,
                          stale_after=stale_after, source_root=Path(root))
    finally:
        if holder:
            holder[0].close()


def _run_specs(specs: list[RunSpec], exp: dict[str, Any], folder: Path,
               get_backend: Callable[[], Backend], *, retries: int, quiet: bool,
               console: Console, stale_after: float,
               source_root: Path | None = None) -> SweepOutcome:
    """Register ``specs`` as one experiment in ``folder``'s store and run the unfinished ones."""
    experiment = specs[0].experiment if specs else folder.name
    store = Store(folder / DB_NAME)
    try:
        store.check_experiment(experiment)
        store.put_experiment(experiment, axes=exp["axes"], fixed=exp["fixed"], note=exp["note"],
                             grid=[s.id for s in specs])
        store.add_runs(specs)
        done_ids = {r.id for r in store.runs(experiment, status=FINISHED)}
        todo = [s for s in specs if s.id not in done_ids]
        outcome = SweepOutcome(folder, experiment, len(specs), len(specs) - len(todo), 0, {})
        weights, missing = (transfer_weights(todo, source_root) if source_root is not None
                            else ({}, {}))
        for spec in [s for s in todo if s.id in missing]:
            store.finish(spec.id, History(status="failed", error=missing[spec.id]))
        todo = [s for s in todo if s.id not in missing]
        if todo:
            driver = _Driver(store, get_backend(), folder, retries=retries,
                             stale_after=stale_after, sources=weights)
            show = not quiet and (console.is_terminal or console.is_jupyter)
            with SweepDisplay(store, todo, len(specs), show=show, console=console) as display:
                outcome.interrupted = driver.run(todo, display.refresh)
            if outcome.interrupted:
                console.print("interrupted: finished runs are kept; run the same command to resume")
            outcome.ran, outcome.held = driver.ran, len(driver.held)
        for r in store.runs(experiment):
            outcome.statuses[r.status] = outcome.statuses.get(r.status, 0) + 1
            if r.status == "failed":
                outcome.failed.append(r.id)
        return outcome
    finally:
        store.close()


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


class _Driver:
    """The claim–submit–record loop of one driver process."""

    def __init__(self, store: Store, backend: Backend, folder: Path, *, retries: int,
                 stale_after: float,
                 sources: dict[str, dict[str, torch.Tensor]] | None = None) -> None:
        self.store, self.backend, self.folder = store, backend, folder
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
                                                 checkpoint_dir=self._checkpoints(specs[rid]),
                                                 source=self.sources.get(rid),
                                                 log_dir=self._log_dir(specs[rid])))
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
            self._abandon(inflight, "interrupted by the user")
            return True
        except BaseException as exc:
            self._abandon(inflight, f"the driver stopped: {type(exc).__name__}: {exc}")
            raise

    def _checkpoints(self, spec: RunSpec) -> str | None:
        """The folder of the run's checkpoints, for a run that writes them."""
        if spec.recipe.get("train", {}).get("checkpoint_every") is None:
            return None
        return str((self.folder / spec.id / "checkpoints").resolve())

    def _log_dir(self, spec: RunSpec) -> str | None:
        """The folder of the run's TensorBoard events, for a run that logs live."""
        if spec.recipe.get("train", {}).get("log_to") is None:
            return None
        return str((self.folder / spec.id / "tensorboard").resolve())

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
        """Write the run's folder, then its row: a finished row always has its folder."""
        history = outcome.history if outcome is not None else history
        assert history is not None
        done = outcome is not None and history.status == "done"
        save_run(self.folder / spec.id, recipe_toml=_toml.dumps(spec.recipe), history=history,
                 weights=outcome.weights if done and outcome else None,
                 artifacts=outcome.artifacts if done and outcome else None)
        self.store.finish(spec.id, history, device=outcome.device if outcome else None,
                          worker=outcome.worker if outcome else None)
        self.progress.pop(spec.id, None)
        self.ran += 1

    def _abandon(self, inflight: set[str], why: str) -> None:
        self.backend.cancel()
        for rid in inflight:
            self.store.set_status(rid, "interrupted", error=why)
