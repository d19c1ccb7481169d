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

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from trainwell.loop import History, load_history
from trainwell.plan import Plan, RunSpec, plan
from trainwell.run.backend import Backend
from trainwell.run.dispatch import STALE_AFTER_SECONDS, Dispatcher
from trainwell.run.display import SweepDisplay
from trainwell.run.options import BackendOptions
from trainwell.run.sources import transfer_weights
from trainwell.run.store import FINISHED, Store
from trainwell.run.store_check import DB_NAME
from trainwell.run_folder import RunFolder
from trainwell.sweep import Sweep, run_id

__all__ = ["run_sweep", "run_plan", "Destination", "SweepOutcome"]


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did. ``held`` counts runs left to other drivers;
    ``retrained`` the runs recorded finished whose folder was gone, trained again."""

    folder: Path
    experiment: str
    total: int
    skipped: int
    ran: int
    statuses: dict[str, int]
    interrupted: bool = False
    held: int = 0
    failed: list[str] = field(default_factory=list)
    retrained: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Destination:
    """Where an experiment's runs go: its folder, the store that records its runs, and each
    run's folder (by run id). ``artifacts``: a finished run's folder keeps its weights and
    artifacts (predictions, snapshots); without, only its recipe and history (the doctor's
    screening runs, which nothing reads the weights of). ``diagnose``: the trained model is
    judged (the final diagnosis, the training set's final metrics); without, a run is judged
    by its live monitor and its validation alone."""

    folder: Path
    store: Store
    run_folder: Callable[[str], RunFolder]
    artifacts: bool = True
    diagnose: bool = True

    @classmethod
    def experiment_folder(cls, folder: Path, *, artifacts: bool = True,
                          diagnose: bool = True) -> Destination:
        """A sweep's: ``folder/results.db`` and a folder ``folder/<run id>`` per run."""
        return cls(folder, Store(folder / DB_NAME), lambda rid: RunFolder(folder / rid),
                   artifacts=artifacts, diagnose=diagnose)


def run_sweep(sweep: Sweep | Plan, *, root: str | Path = "runs", backend: Backend | None = None,
              workers: int | None = None, retries: int = 2, quiet: bool = False,
              console: Console | None = None,
              stale_after: float = STALE_AFTER_SECONDS) -> SweepOutcome:
    """Run every unfinished run of ``sweep`` (or of its :class:`~trainwell.plan.Plan`) into
    ``root/<experiment>/`` and return a summary.

    ``backend`` defaults to local worker processes (``workers`` of them, one per core by
    default); the driver closes it when done.

    >>> outcome = run_sweep(load_sweep("sweep.toml"), workers=2)  # doctest: +SKIP
    """
    p = sweep if isinstance(sweep, Plan) else plan(sweep)
    targets = Destination.experiment_folder(Path(root) / p.experiment)
    sources = None
    try:
        if p.sources:
            sources = Destination.experiment_folder(Path(root) / p.source_experiment)
        return run_plan(p, targets, sources, backend=backend, workers=workers, retries=retries,
                        quiet=quiet, console=console, stale_after=stale_after)
    finally:
        targets.store.close()
        if sources is not None:
            sources.store.close()


def run_plan(p: Plan, targets: Destination, sources: Destination | None = None, *,
             backend: Backend | None = None, workers: int | None = None, retries: int = 2,
             quiet: bool = False, console: Console | None = None,
             stale_after: float = STALE_AFTER_SECONDS, resume: bool = True,
             adopt_sources: bool = False) -> SweepOutcome:
    """Run ``p``: its transfer sources first (into ``sources``), then its runs (into
    ``targets``). ``resume``: a run continues from the checkpoints in its folder;
    ``adopt_sources``: a source run whose folder already holds it, done, is not run again
    whatever the store says (a single run's store lives in memory)."""
    console = console or Console(stderr=True)
    holder: list[Backend] = [backend] if backend is not None else []

    def get_backend() -> Backend:
        if not holder:
            holder.append(BackendOptions(workers=workers).make())
        return holder[0]

    run = functools.partial(_run_specs, get_backend=get_backend, retries=retries, quiet=quiet,
                            console=console, stale_after=stale_after, resume=resume)
    try:
        if p.sources:
            assert sources is not None, "a plan with transfer sources needs their destination"
            run(p.sources, {"axes": ["source"] if len(p.sources) > 1 else [], "fixed": {},
                            "note": f"transfer sources of {p.experiment}"}, sources,
                adopt=adopt_sources, experiment=p.source_experiment)
        return run(p.runs, {"axes": p.axes, "fixed": p.fixed, "note": p.note}, targets,
                   source_folder=sources.run_folder if sources is not None else None,
                   experiment=p.experiment)
    finally:
        if holder:
            holder[0].close()


def _run_specs(specs: list[RunSpec], exp: dict[str, Any], dest: Destination, *,
               get_backend: Callable[[], Backend], retries: int, quiet: bool,
               console: Console, stale_after: float, resume: bool, experiment: str,
               adopt: bool = False,
               source_folder: Callable[[str], RunFolder] | None = None) -> SweepOutcome:
    """Register ``specs`` as one experiment in ``dest``'s store and run the unfinished ones."""
    store = dest.store
    store.check_experiment(experiment)
    store.put_experiment(experiment, axes=exp["axes"], fixed=exp["fixed"], note=exp["note"],
                         grid=[s.id for s in specs])
    store.add_runs(specs)
    if adopt:
        _adopt(store, specs, dest)
    done_ids = {r.id for r in store.runs(experiment, status=FINISHED)}
    retrained = _missing(store, [s for s in specs if s.id in done_ids], dest, console)
    done_ids -= set(retrained)
    todo = [s for s in specs if s.id not in done_ids]
    outcome = SweepOutcome(dest.folder, experiment, len(specs), len(specs) - len(todo), 0, {},
                           retrained=retrained)
    weights, missing = (transfer_weights(todo, source_folder) if source_folder is not None
                        else ({}, {}))
    for spec in [s for s in todo if s.id in missing]:
        store.finish(spec.id, History(status="failed", error=missing[spec.id]))
    todo = [s for s in todo if s.id not in missing]
    if todo:
        driver = Dispatcher(store, get_backend(), dest.run_folder, retries=retries,
                            stale_after=stale_after, sources=weights, resume=resume,
                            artifacts=dest.artifacts, diagnose=dest.diagnose)
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


def _missing(store: Store, finished: list[RunSpec], dest: Destination,
             console: Console) -> list[str]:
    """The finished runs whose folder lost its history (or, for a run that trained into a
    destination that keeps them, its weights): each is set to run again, and said so."""
    status = {r.id: r.status for r in store.runs(ids=[s.id for s in finished])}
    out = []
    for spec in finished:
        folder = dest.run_folder(spec.id)
        if folder.is_complete("final" if dest.artifacts and status.get(spec.id) == "done" else None):
            continue
        what = ("folder" if not folder.path.is_dir() else
                "weights file" if folder.history.is_file() else "history")
        console.print(f"run {spec.id} ({spec.label}) is recorded finished but its {what} is "
                      f"missing from {folder.path}: training it again", markup=False)
        store.set_status(spec.id, "pending", error=f"its {what} was missing: trained again")
        out.append(spec.id)
    return out


def _adopt(store: Store, specs: list[RunSpec], dest: Destination) -> None:
    """Record as finished the runs whose folder already holds them, done."""
    for spec in specs:
        folder = dest.run_folder(spec.id)
        if not folder.is_complete("final") or run_id(folder.read_recipe()) != spec.id:
            continue
        history = load_history(folder.history)
        if history.status == "done":
            store.finish(spec.id, history)
