"""``trainwell doctor``: train a recipe with the live monitor, propose the lectures' fixes for
what it found, race them side by side with equal budgets, and keep the one that trains best on
validation.

1. The recipe trains once (the live :class:`~trainwell.diagnose.Monitor` runs with every run
   whose ``train.record_every`` is on) as the first run of the doctor's experiment; it stops
   early on a non-finite loss or on accuracy at chance (:data:`ORIGINAL_STOP_ON`), recorded
   ``diverged`` with the verdict as its reason.
2. Its live verdicts, and the final diagnosis's, name the symptoms; for a learning-rate
   symptom a range test (:func:`~trainwell.optim.lr_find`) suggests a learning rate.
3. :func:`~trainwell.doctor.search.search` screens the fixes with an eighth of the budget
   each (at least an epoch), then, on top of the best, Adam's step, the best combined with
   the runner-up, and the fixes for what the best still shows: rounds of fixes, as
   AutoTrainer repairs in turn, on equal budgets. Every round goes to the doctor's experiment
   (``OUT/doctor/``, as its earlier grids: the race's is its last, the one its report shows);
   a screening run stops at its first non-finite loss or weight (:data:`STOP_ON`) and keeps
   its recipe and history, not its weights or predictions.
4. The best screened recipe races the original with the full budget, as ``[[sweep.variants]]``
   through the same driver and store as ``trainwell compare`` (the original is not trained
   twice: its run id is already finished); when more training made it worse, the next best
   races too. The race's report is drawn without its figures (``OUT/doctor.html`` draws the
   same curves; ``trainwell report OUT/doctor`` draws them there). The winner is the run with
   the best validation accuracy (never the test set; validation loss breaks ties); the
   original wins unless a fix beats it (one that stopped early loses to any fix that ran its
   budget).
   ``OUT/fixed.toml`` holds its recipe (the recipe as given, without the doctor's
   ``stop_on``, when the original wins) and ``OUT/doctor.html`` the before and after curves,
   the verdicts and the race.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainwell._io import atomic_write_text
from trainwell.doctor.budget import budget_text, screen_budget, shorten, with_values
from trainwell.doctor.fixes import GAP, Fix
from trainwell.doctor.lr_range import LR_SYMPTOMS, asks_range, range_lr
from trainwell.doctor.result import DoctorResult
from trainwell.doctor.runs import FINAL_SYMPTOMS, ORIGINAL, Candidate, Experiments, race
from trainwell.doctor.search import search
from trainwell.loop.batches import steps_per_epoch
from trainwell.plan import resolve
from trainwell.recipe import Recipe, load_recipe
from trainwell.run import Backend, make_backend
from trainwell.run.inprocess import InProcessBackend

__all__ = ["doctor", "DoctorResult", "Candidate", "FINAL_SYMPTOMS", "LR_SYMPTOMS", "STOP_ON",
           "ORIGINAL_STOP_ON"]

STOP_ON = ("nan",)
"""The symptoms that end a screening run early (``train.stop_on``): a run whose loss or weights
are no longer finite cannot come back. Not ``exploding``: it holds from the first step for a
too large init, which Adam or clipping may still train."""
ORIGINAL_STOP_ON = ("nan", "chance")
"""The symptoms that end the doctor's run of the recipe as given early: also accuracy at chance
after an epoch (no healthy recipe of the benchmark showed it, and every broken one that did
ended within 15 points of chance). A screening run of an epoch or two stops on ``nan`` alone:
its own accuracy is what ranks it."""


def doctor(recipe: Recipe | Mapping[str, Any] | str | Path, *, out: str | Path = "runs/doctor",
           experiment: str = "doctor",
           backend: Backend | None = None, workers: int | None = None, limit: int = 4,
           screen: float = 1 / 8, keep: int = 1, rounds: int = 3, lr_steps: int = 50,
           report: bool = True, quiet: bool = True) -> DoctorResult:
    """Find why ``recipe`` (a :class:`Recipe`, a dict of its sections or a recipe file) does not
    train, race the fixes, write ``out/fixed.toml`` and ``out/doctor.html``; see the module
    doc. ``limit`` caps the fixes tried; the range test takes ``lr_steps`` steps (half of
    ``trainwell lr-find``'s 100: on the benchmark's cases 100 steps cost a third of a training
    of the recipe or more, and with 50 the doctor repairs as many of them).

    The fixes are screened with ``screen`` of the budget each (its optimizer steps, rounded,
    ending in the middle of an epoch if need be: ``train.max_steps``; whole epochs, at least
    one, when the recipe's run recorded no number of training samples; the experiment's
    earlier grids) in at most ``rounds`` rounds
    (:func:`~trainwell.doctor.search.search`; a round's fixes are labelled after the ones
    before, ``"relu + he_normal; adam"``), and the ``keep`` best on validation race the
    original with the full budget, one more when the last got worse with more training:
    successive halving (Jamieson and Talwalkar, 2016), so the doctor costs about
    ``2 + fixes · screen`` trainings instead of ``1 + fixes``. ``screen = 1`` races every fix
    with the full budget. The runs go to ``backend``; by default to ``workers`` local
    processes when ``workers`` is given, else one after the other in this process, on one
    thread (:class:`~trainwell.run.InProcessBackend`). ``report`` also writes the race's sweep
    report (``out/<experiment>/report.html``: its tables, without figures); its time is
    ``result.report_seconds``."""
    started = time.perf_counter()
    clock = _Clock()
    out = Path(out)
    if isinstance(recipe, Mapping):
        recipe = Recipe.from_dict(recipe)
    elif not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    recipe = resolve(recipe)  # its data file's digest, its transfer source: as plan() sees it
    if recipe.train.record_every == 0:
        recipe = Recipe.from_dict(with_values(recipe.to_dict(), "train", record_every=50))
    base = recipe.to_dict()
    runner = backend or (make_backend("local", workers=workers) if workers
                        else InProcessBackend(threads=1))
    tried: list[Fix] = []
    screened: list[Candidate] = []
    lr = None
    stop_on = _stop_on(recipe, STOP_ON)
    as_given = Fix(ORIGINAL, "the recipe as given",
                   {"train": {**base.get("train", {}), "stop_on": _stop_on(recipe, ORIGINAL_STOP_ON)}})
    runs = Experiments(out, runner, quiet=quiet)
    try:
        runs.run(race(experiment, base, None, [as_given]))
        original = runs.lookup(experiment, base, ORIGINAL, as_given.reason, as_given)
        verdicts, symptoms = runs.symptoms(experiment, original.run_id)
        gap = runs.gap(experiment, original.run_id)
        clock.lap("original")
        candidates, current, best = [original], base, original
        found = symptoms if original.status != "failed" else []
        samples = runs.train_samples(experiment, original.run_id)
        per_epoch = steps_per_epoch(samples, recipe.train.batch_size) if samples else None
        short = screen_budget(recipe, per_epoch, screen)
        if found or gap is not None and gap > GAP:
            now = runs.recipe(current)
            lr = range_lr(now, lr_steps, runner) if asks_range(now, found, gap, limit) else None
            clock.lap("range_test")

            # every round into the doctor's experiment, as variants of the short-budget
            # original: its earlier grids (the race's is the last)
            at_short = shorten(base, short, stop_on)
            variants: list[Fix] = []

            def screen_(at: dict[str, Any], fixes: list[Fix]) -> list[Candidate]:
                at = shorten(at, short, stop_on)
                new = [Fix(f.label, f.reason, _changes(at_short, runs.recipe(at, f).to_dict()))
                       for f in fixes]
                variants.extend(new)
                runs.run(race(experiment, at_short, None, variants), screening=short is not None)
                return [runs.lookup(experiment, at_short, f.label, f.reason, f) for f in new]

            pool, _ = search(base, found, screen=screen_, rank=_rank,
                             apply=lambda at, f: runs.recipe(at, f).to_dict(),
                             resolve=runs.recipe,
                             symptoms_of=lambda c: runs.symptoms(experiment, c.run_id)[1],
                             lr=lr, gap=gap, limit=limit, rounds=rounds)
            clock.lap("screening")
            screened = [s.result for s in pool]
            tried = [s.fix for s in pool]
            ordered = sorted(pool, key=lambda s: _rank(s.result), reverse=True)
            finalists: list[Fix] = []
            worse = False
            for i, finalist in enumerate(ordered[:keep + 1]):
                if i >= keep and not worse:
                    break  # more training did not make the last finalist worse: it stands
                finalists.append(Fix(finalist.label, finalist.reason, _changes(base, finalist.recipe)))
                # the original and every finalist so far in one sweep: the race's report shows all
                runs.run(race(experiment, base, None, [as_given, *finalists]))
                raced = runs.lookup(experiment, base, finalist.label, finalist.reason, finalists[-1])
                candidates.append(raced)
                worse = _rank(raced) < _rank(finalist.result)
            best = max(candidates, key=_rank)
            current = next((s.recipe for s in pool if s.label == best.label), base)
            clock.lap("race")
        if report:
            from trainwell.report.html import write_report

            write_report(out / experiment, experiment=experiment, flow=False, curves=False)
        report_seconds = clock.lap("report")
        curves = runs.curves(experiment, [c.run_id for c in candidates])
        fixed = runs.recipe(current) if best is not original else recipe
    finally:
        runs.close()
        if backend is None:
            runner.close()
    result = DoctorResult(recipe, verdicts, symptoms, tried, candidates, best.label, fixed, lr, out,
                          screened=screened)
    result.report_seconds = report_seconds
    result.phases = clock.phases
    result.screen_budget = budget_text(recipe, short, per_epoch)
    result.seconds = time.perf_counter() - started
    from trainwell.doctor.page import write_doctor_page

    result.written = [atomic_write_text(out / "fixed.toml", fixed.to_toml()),
                      write_doctor_page(result, curves, out / "doctor.html")]
    clock.lap("page")
    result.seconds = time.perf_counter() - started
    return result


class _Clock:
    """Seconds per phase, each lap from the end of the one before."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> float:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._last
        self._last = now
        return self.phases[phase]


def _stop_on(recipe: Recipe, symptoms: Sequence[str]) -> list[str]:
    """The recipe's own ``train.stop_on`` and ``symptoms``."""
    return list(dict.fromkeys([*(recipe.train.stop_on or []), *symptoms]))


def _changes(base: dict[str, Any], recipe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sections of ``recipe`` that differ from ``base``, whole: a variant that makes it."""
    from trainwell.sections import SECTIONS

    return {k: v for k, v in recipe.items() if k in SECTIONS and base.get(k) != v}


def _pick(candidates: Sequence[Candidate]) -> str:
    """The label with the best validation accuracy (then the lower validation loss); the
    original unless a fix does better."""
    return max(candidates, key=_rank).label if candidates else ORIGINAL


def _rank(c: Candidate) -> tuple[float, float, bool]:
    acc = c.val_acc if c.status == "done" and c.val_acc is not None else -1.0
    loss = c.val_loss if c.val_loss is not None and math.isfinite(c.val_loss) else math.inf
    return (acc, -loss, c.label == ORIGINAL)
