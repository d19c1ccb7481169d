"""Run a sweep's runs in parallel worker processes, recording each in the store.

1. Every run of the grid is validated first: bad input fails before anything is written.
2. The experiment and its runs are registered; runs already finished (done, diverged,
   failed) are skipped, so rerunning a command resumes it, also after a SIGKILL.
3. Workers (spawned, one per core by default, torch threads divided among them) claim a run,
   train it, write its folder (recipe, history, weights) and record it in one transaction.
4. The terminal shows runs done / total with an ETA and each active run's epoch and loss.
5. Ctrl-C stops the workers; runs cut short are recorded ``interrupted`` and run again next
   time. A worker that dies outright fails its run, and the sweep goes on in a new pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trainwell import _toml
from trainwell.run.store import DB_NAME, FINISHED, RunSpec, Store
from trainwell.sweep import Sweep, format_point, run_id

__all__ = ["run_sweep", "SweepOutcome", "plan", "default_workers"]

POLL_SECONDS = 0.5


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did."""

    folder: Path
    experiment: str
    total: int
    skipped: int
    ran: int
    statuses: dict[str, int]
    interrupted: bool = False


def plan(sweep: Sweep) -> tuple[list[RunSpec], dict[str, Any]]:
    """Validate and expand ``sweep``: the runs to record and the fixed recipe part."""
    specs = []
    for point, seed, recipe in sweep.recipes():
        resolved = recipe.to_dict()
        specs.append(RunSpec(id=run_id(resolved), experiment=sweep.experiment,
                             label=format_point(point), point=point, seed=seed, recipe=resolved))
    return specs, sweep.fixed()


# worker side -----------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(db_path: str, threads: int) -> None:
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone
    torch.set_num_threads(threads)
    _worker.update(store=Store(db_path), data={})


def _progress_callback(store: Store, rid: str):
    from trainwell.train.events import Callback

    class StoreProgress(Callback):
        def after_epoch(self, state) -> None:
            last = state.history.epochs[-1]
            store.set_progress(rid, {"epoch": last["epoch"], "epochs": state.epochs,
                                     "loss": last["train_loss"]})

    return StoreProgress()


def _execute(rid: str, recipe_dict: dict[str, Any], folder: str) -> str:
    """Train one run inside a worker and record it; returns its status."""
    from trainwell.recipe import Recipe
    from trainwell.train import History, run_recipe, save_run
    from trainwell.train.device import resolve_device
    from trainwell.train.run_recipe import prepare_data

    store: Store = _worker["store"]
    if not store.claim(rid):
        return "skipped"
    try:
        recipe = Recipe.from_dict(recipe_dict)
        key = json.dumps([recipe.data.to_dict(), recipe.train.device], sort_keys=True)
        if key not in _worker["data"]:
            _worker["data"] = {key: prepare_data(recipe, resolve_device(recipe.train.device))}
        result = run_recipe(recipe, dataset=_worker["data"][key],
                            callbacks=[_progress_callback(store, rid)])
        history, model = result.history, result.model
    except Exception as exc:  # recorded, and the sweep goes on
        history, model = History.failed(exc), None
    save_run(Path(folder) / rid, recipe_toml=_toml.dumps(recipe_dict), history=history,
             model=model if history.status == "done" else None)
    store.finish(rid, history)
    return history.status


# parent side -----------------------------------------------------------------------------
def run_sweep(sweep: Sweep, *, root: str | Path = "runs", workers: int | None = None,
              quiet: bool = False, console: Console | None = None) -> SweepOutcome:
    """Run every unfinished run of ``sweep`` into ``root/<experiment>/`` and return a summary.

    >>> outcome = run_sweep(load_sweep("sweep.toml"), workers=2)  # doctest: +SKIP
    """
    specs, fixed = plan(sweep)
    folder = Path(root) / sweep.experiment
    store = Store(folder / DB_NAME)
    try:
        store.put_experiment(sweep.experiment, axes=[a.key for a in sweep.axes], fixed=fixed,
                             note=str(sweep.base.get("note", "")), grid=[s.id for s in specs])
        store.add_runs(specs)
        done_ids = {r.id for r in store.runs(sweep.experiment, status=FINISHED)}
        todo = [s for s in specs if s.id not in done_ids]
        outcome = SweepOutcome(folder, sweep.experiment, len(specs), len(specs) - len(todo), 0, {})
        if todo:
            outcome.interrupted = _run_pool(store, todo, folder, workers or default_workers(),
                                            len(specs), quiet, console or Console(stderr=True))
        final = store.runs(sweep.experiment)
        outcome.ran = sum(1 for r in final if r.id in {s.id for s in todo} and r.status in FINISHED)
        for r in final:
            outcome.statuses[r.status] = outcome.statuses.get(r.status, 0) + 1
        return outcome
    finally:
        store.close()


def _run_pool(store: Store, todo: list[RunSpec], folder: Path, workers: int, total: int,
              quiet: bool, console: Console) -> bool:
    """Run ``todo`` in a process pool; returns True when the user interrupted."""
    show = not quiet and console.is_terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=console)
    task = progress.add_task("runs", total=total, completed=total - len(todo))
    labels = {s.id: f"{s.label} · seed {s.seed}" for s in todo}
    with Live(progress, console=console, transient=True, refresh_per_second=4,
              auto_refresh=show, redirect_stderr=False) as live:
        while todo:
            try:
                _one_pool(store, todo, folder, workers,
                          lambda: show and live.update(_view(progress, task, store, labels, total)))
            except KeyboardInterrupt:
                _mark_running(store, labels, "interrupted", "interrupted by the user")
                console.print("interrupted: finished runs are kept; run the same command to resume")
                return True
            except BrokenProcessPool as exc:
                if not _mark_running(store, labels, "failed", "the worker process running it died"):
                    raise RuntimeError(f"worker processes could not start: {exc}") from exc
            unfinished = {r.id for r in store.runs(ids=[s.id for s in todo])
                          if r.status not in FINISHED}
            todo = [s for s in todo if s.id in unfinished]
    return False


def _one_pool(store: Store, todo: list[RunSpec], folder: Path, workers: int, refresh) -> None:
    workers = max(1, min(workers, len(todo)))
    threads = max(1, default_workers() // workers)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_init_worker, initargs=(str(store.path), threads))
    try:
        pending = {pool.submit(_execute, s.id, s.recipe, str(folder)) for s in todo}
        while pending:
            finished, pending = cf.wait(pending, timeout=POLL_SECONDS)
            for fut in finished:
                fut.result()
            refresh()
    except BaseException:
        for child in multiprocessing.active_children():
            child.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    # Every run is recorded; the idle workers exit in the background (and are joined at exit).
    pool.shutdown(wait=False)


def _mark_running(store: Store, labels: dict[str, str], status: str, error: str) -> int:
    """Give every run still marked running ``status``; returns how many there were."""
    running = [r.id for r in store.runs(ids=list(labels)) if r.status == "running"]
    for rid in running:
        store.set_status(rid, status, error=error)
    return len(running)


def _view(progress: Progress, task: Any, store: Store, labels: dict[str, str], total: int) -> Group:
    rows = store.runs(ids=list(labels))
    done = total - len(labels) + sum(1 for r in rows if r.status in FINISHED)
    progress.update(task, completed=done)
    active = Table(show_header=True, header_style="dim", box=None)
    for col in ("run", "epoch", "loss"):
        active.add_column(col)
    for r in rows:
        if r.status == "running":
            p = r.progress or {}
            epoch = f"{p['epoch']}/{p['epochs']}" if p else "starting"
            loss = f"{p['loss']:.4f}" if p.get("loss") is not None else "-"
            active.add_row(labels[r.id], epoch, loss)
    return Group(progress, active)
