"""One run through the driver: what ``trainwell train`` and :func:`trainwell.train` do.

A single run is a one-point :class:`~trainwell.plan.Plan` on the
:class:`~trainwell.run.inprocess.InProcessBackend`: the same checks, the same run folder and the
same store records as a sweep's run. Its store lives in memory; its folder is ``out`` (or a
temporary folder, removed afterwards, without one), a transfer source recipe's run goes to
``out/source`` and is reused from there while its recipe is unchanged.

``out`` is checked before anything trains (:func:`check_out`): a file is refused, and so is a
folder that holds another recipe's run or this recipe's finished run, unless it is to be
replaced (``overwrite``); this recipe's run continues from its checkpoints only with
``resume``.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from trainwell.errors import ConfigError, TrainwellError
from trainwell.execute import check_runnable, resume_point
from trainwell.loop import Callback
from trainwell.plan import Plan
from trainwell.recipe import Recipe
from trainwell.results import Results, Run
from trainwell.run.backend import placed_device, prepared_data
from trainwell.run.driver import Destination, run_plan
from trainwell.run.inprocess import InProcessBackend
from trainwell.run.store import Store
from trainwell.run_folder import RunFolder
from trainwell.sweep import run_id

__all__ = ["train_plan", "check_out"]


def check_out(out: Path, recipe: Recipe, *, resume: bool, overwrite: bool) -> str | None:
    """Refuse an ``out`` that is not a folder for this run (see the module doc); with
    ``resume``, what it resumes from, as a line to say."""
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise ConfigError("out", str(out), f"a folder for the run; {str(p)!r} is a file")
    folder = RunFolder(out)
    if not folder.recipe.is_file() or overwrite:
        return _resume_line(out, recipe) if resume else None
    try:
        there = run_id(folder.read_recipe())
    except TrainwellError:
        there = "unreadable"
    mine, finished = run_id(recipe.to_dict()), folder.history.is_file()
    if there != mine:
        state = "finished" if finished else "unfinished"
        raise ConfigError("out", str(out), f"a folder without another run: it holds the {state} "
                          f"run {there} of another recipe; choose another folder, or replace it "
                          "with overwrite (--overwrite)")
    if finished and not resume:
        raise ConfigError("out", str(out), f"a folder without a finished run: it holds this "
                          f"recipe's run {mine}, finished; train it again with overwrite "
                          "(--overwrite), or continue from its checkpoints with resume "
                          "(--resume)")
    if not resume:
        raise ConfigError("out", str(out), f"a folder without an unfinished run: it holds this "
                          f"recipe's run {mine}, unfinished; continue it with resume "
                          "(--resume), or start over with overwrite (--overwrite)")
    return _resume_line(out, recipe)


def _resume_line(out: Path, recipe: Recipe) -> str:
    checkpoints = RunFolder(out).checkpoints
    found = resume_point(recipe, checkpoints) if checkpoints.is_dir() else None
    if found is None:
        return f"no good checkpoint in {checkpoints}: training from scratch"
    line = f"resuming from {found.path} (epoch {found.epoch} of {recipe.train.epochs})"
    return line + (f"\n{found.fallback_note()}" if found.skipped else "")


def _clear(folder: RunFolder) -> None:
    """Remove what a run left in ``folder`` (and only that)."""
    for path in (folder.history, folder.recipe, folder.weights("final"), folder.weights("averaged"),
                 folder.predictions):
        path.unlink(missing_ok=True)
    for sub in (folder.snapshots, folder.checkpoints, folder.tensorboard):
        shutil.rmtree(sub, ignore_errors=True)


def train_plan(p: Plan, *, label: str, out: Path | None, resume: bool = False,
               overwrite: bool = False, callbacks: Sequence[Callback] = (),
               console: Console | None = None) -> Run:
    """Run the one run of ``p`` here, into ``out``; the :class:`Run` it gave.
    ``out`` must have passed :func:`check_out`."""
    spec = dataclasses.replace(p.runs[0], label=label)
    recipe = Recipe.from_dict(spec.recipe)
    check_runnable(recipe, prepared_data(recipe, placed_device(recipe.train.device,
                                                               InProcessBackend().slot)))
    p = dataclasses.replace(p, runs=[spec])
    with tempfile.TemporaryDirectory(prefix="trainwell-") as tmp:
        root = out if out is not None else Path(tmp)
        if out is not None and overwrite:
            _clear(RunFolder(out))
        store = Store(":memory:")
        targets = Destination(root, store, lambda rid: RunFolder(root))
        sources = Destination(root / "source", Store(":memory:"),
                              lambda rid: RunFolder(root / "source"))
        backend = InProcessBackend(callbacks=callbacks, keep_model=True)
        done = run_plan(p, targets, sources, backend=backend, retries=0, quiet=True,
                        console=console or Console(quiet=True), resume=resume,
                        adopt_sources=out is not None)
        if done.interrupted:
            raise KeyboardInterrupt
        outcome = backend.outcomes.get(spec.id)
        if outcome is None:  # the run never started: its transfer source failed
            raise TrainwellError(store.runs(ids=[spec.id])[0].error or "the run did not start")
        folder = RunFolder(root)
        written = [f for f in (folder.recipe, folder.weights("final"),
                               *(folder.artifact(n) for n in outcome.artifacts), folder.history)
                   if f.is_file()] if out is not None else []
    return Run(Results(store, p.experiment, outcome=done), spec.id, outcome,
               folder=out, written=written)
