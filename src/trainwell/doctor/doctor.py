"""``trainwell doctor``: train a recipe with the live monitor, propose the lectures' fixes for
what it found, race them side by side with equal budgets, and keep the one that trains best on
validation.

1. The recipe trains once (the live :class:`~trainwell.diagnose.Monitor` runs with every run
   whose ``train.record_every`` is on) as the first run of the doctor's experiment.
2. Its live verdicts, and the final diagnosis's, name the symptoms; for a learning-rate
   symptom a range test (:func:`~trainwell.optim.lr_find`) suggests a learning rate.
3. :func:`~trainwell.doctor.search.search` screens the fixes with a quarter of the budget
   each (``OUT/doctor-screen/``), then, on top of the best, Adam's step, the best combined
   with the runner-up, and the fixes for what the best still shows: rounds of fixes, as
   AutoTrainer repairs in turn, on equal budgets.
4. The best screened recipe races the original with the full budget, as ``[[sweep.variants]]``
   through the same driver, store and report as ``trainwell compare`` (the original is not
   trained twice: its run id is already finished); when more training made it worse, the next
   best races too. The winner is the run with the best validation accuracy (never the test
   set; validation loss breaks ties); the original wins unless a fix beats it.
   ``OUT/fixed.toml`` holds its recipe and ``OUT/doctor.html`` the before and after curves,
   the verdicts and the race.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell._io import atomic_write_text
from trainwell.diagnose.symptoms import LiveVerdict
from trainwell.doctor.fixes import GAP, Fix
from trainwell.doctor.search import search
from trainwell.recipe import Recipe, load_recipe
from trainwell.run import Backend, make_backend, open_store, run_sweep
from trainwell.run.inprocess import InProcessBackend
from trainwell.sweep import Axis, Sweep

__all__ = ["doctor", "DoctorResult", "Candidate", "FINAL_SYMPTOMS", "LR_SYMPTOMS"]

FINAL_SYMPTOMS = {"non_finite": "nan", "dead": "dying_relu", "saturated": "saturated",
                  "vanishing_gradient": "vanishing", "exploding_gradient": "exploding",
                  "vanishing_activations": "vanishing", "exploding_activations": "exploding",
                  "symmetric": "slow", "lr_too_high": "lr_high", "lr_too_low": "lr_low",
                  "not_trained": "slow"}
"""The final diagnosis's verdict kinds (:data:`~trainwell.diagnose.VERDICT_KINDS`) as symptoms."""
LR_SYMPTOMS = ("lr_high", "lr_low", "oscillating", "slow", "chance")
"""Symptoms for which the range test runs first."""
ORIGINAL = "original"


@dataclass
class Candidate:
    """One raced recipe: its label, reason, run id, status and final metrics."""

    label: str
    reason: str
    run_id: str
    status: str
    val_acc: float | None
    val_loss: float | None
    test_acc: float | None
    seconds: float | None
    error: str | None = None


@dataclass
class DoctorResult:
    """What the doctor found and did; ``fixed`` is the winner's recipe (the original when no fix
    beat it), ``chosen`` its label."""

    recipe: Recipe
    verdicts: list[LiveVerdict]
    symptoms: list[str]
    fixes: list[Fix]
    candidates: list[Candidate]
    chosen: str
    fixed: Recipe
    lr: float | None
    folder: Path
    screened: list[Candidate] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    report_seconds: float = 0.0

    @property
    def original(self) -> Candidate:
        return next(c for c in self.candidates if c.label == ORIGINAL)

    @property
    def winner(self) -> Candidate:
        return next(c for c in self.candidates if c.label == self.chosen)

    @property
    def error(self) -> str | None:
        """Why the original recipe failed to run (``None``: it ran); nothing is raced then."""
        return self.original.error if self.original.status == "failed" else None

    def __str__(self) -> str:
        if self.error is not None:
            return f"the recipe failed, so nothing was raced: {self.error}"
        found = ", ".join(self.symptoms) or "no symptom"
        return (f"found {found}; chose {self.chosen}: val_acc {_pct(self.original.val_acc)} -> "
                f"{_pct(self.winner.val_acc)} (test {_pct(self.original.test_acc)} -> "
                f"{_pct(self.winner.test_acc)}) in {self.seconds:.0f} s")


def doctor(recipe: Recipe | Mapping[str, Any] | str | Path, *, out: str | Path = "runs/doctor",
           experiment: str = "doctor",
           backend: Backend | None = None, workers: int | None = None, limit: int = 4,
           screen: float = 1 / 4, keep: int = 1, rounds: int = 3, lr_steps: int = 100,
           report: bool = True, quiet: bool = True) -> DoctorResult:
    """Find why ``recipe`` (a :class:`Recipe`, a dict of its sections or a recipe file) does not
    train, race the fixes, write ``out/fixed.toml`` and ``out/doctor.html``; see the module
    doc. ``limit`` caps the fixes tried.

    The fixes are screened with ``screen`` of the budget each (``train.epochs``, rounded, at
    least 1; experiment ``<experiment>-screen``) in at most ``rounds`` rounds
    (:func:`~trainwell.doctor.search.search`; a round's fixes are labelled after the ones
    before, ``"relu + he_normal; adam"``), and the ``keep`` best on validation race the
    original with the full budget, one more when the last got worse with more training:
    successive halving (Jamieson and Talwalkar, 2016), so the doctor costs about
    ``2 + fixes · screen`` trainings instead of ``1 + fixes``. ``screen = 1`` races every fix
    with the full budget. The runs go to ``backend``; by default to ``workers`` local
    processes when ``workers`` is given, else one after the other in this process, on one
    thread (:class:`~trainwell.run.InProcessBackend`). ``report`` also writes the race's sweep
    report (``out/<experiment>/report.html``), as ``trainwell compare`` does; its time is
    ``result.report_seconds``."""
    started = time.perf_counter()
    out = Path(out)
    if isinstance(recipe, Mapping):
        recipe = Recipe.from_dict(recipe)
    elif not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    if recipe.train.record_every == 0:
        recipe = Recipe.from_dict(_with(recipe.to_dict(), "train", record_every=50))
    base = recipe.to_dict()
    runner = backend or (make_backend("local", workers=workers) if workers
                        else InProcessBackend(threads=1))
    tried: list[Fix] = []
    screened: list[Candidate] = []
    lr = None
    short = min(recipe.train.epochs, max(1, round(recipe.train.epochs * screen)))
    where = experiment if short == recipe.train.epochs else f"{experiment}-screen"
    try:
        run_sweep(_race(experiment, base, ORIGINAL, []), root=out, backend=runner, quiet=quiet)
        with open_store(out / experiment) as store:
            original = _lookup(store, experiment, base, ORIGINAL, "the recipe as given")
            verdicts, symptoms = _symptoms(store, original.run_id)
            gap = _gap(store, original.run_id)
        candidates, current, best = [original], base, original
        found = symptoms if original.status != "failed" else []
        if found or gap is not None and gap > GAP:
            now = _resolve(experiment, current)
            lr = _range_lr(now, lr_steps) if set(found) & set(LR_SYMPTOMS) else None

            rounds_run: list[str] = []

            def screen_(at: dict[str, Any], fixes: list[Fix]) -> list[Candidate]:
                at = _with(at, "train", epochs=short)
                name = where + (f"-{len(rounds_run) + 1}" if rounds_run else "")
                rounds_run.append(name)
                run_sweep(_race(name, at, None, fixes), root=out, backend=runner, quiet=quiet)
                with open_store(out / name) as store:
                    return [_lookup(store, name, at, f.label, f.reason, f) for f in fixes]

            def symptoms_of(c: Candidate) -> list[str]:
                with open_store(out / rounds_run[-1]) as store:
                    return _symptoms(store, c.run_id)[1]

            pool, _ = search(base, found, screen=screen_, rank=_rank,
                             apply=lambda at, f: _apply(experiment, at, f).to_dict(),
                             resolve=lambda at: _resolve(experiment, at),
                             symptoms_of=symptoms_of, lr=lr, gap=gap, limit=limit, rounds=rounds)
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
                run_sweep(_race(experiment, base, ORIGINAL, finalists), root=out, backend=runner,
                          quiet=quiet)
                with open_store(out / experiment) as store:
                    raced = _lookup(store, experiment, base, finalist.label, finalist.reason,
                                    finalists[-1])
                candidates.append(raced)
                worse = _rank(raced) < _rank(finalist.result)
            best = max(candidates, key=_rank)
            current = next((s.recipe for s in pool if s.label == best.label), base)
    finally:
        if backend is None:
            runner.close()
    report_started = time.perf_counter()
    if report:
        from trainwell.report.html import write_report

        write_report(out / experiment, experiment=experiment)
    report_seconds = time.perf_counter() - report_started
    with open_store(out / experiment) as store:
        curves = _curves(store, [c.run_id for c in candidates])
    fixed = _resolve(experiment, current) if best is not original else recipe
    result = DoctorResult(recipe, verdicts, symptoms, tried, candidates, best.label, fixed, lr, out,
                          screened=screened)
    result.report_seconds = report_seconds
    result.seconds = time.perf_counter() - started
    from trainwell.doctor.page import write_doctor_page

    result.written = [atomic_write_text(out / "fixed.toml", fixed.to_toml()),
                      write_doctor_page(result, curves, out / "doctor.html")]
    return result


def _with(raw: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    return {**raw, section: {**raw.get(section, {}), **values}}


def _race(experiment: str, base: dict[str, Any], label: str | None, fixes: Sequence[Fix]) -> Sweep:
    """``base`` (as ``label``; left out when ``None``) and each fix, as sweep variants."""
    variants = (*([{"label": label}] if label is not None else []), *(f.variant() for f in fixes))
    return Sweep(experiment, base, (Axis("variant", tuple(variants)),))


def _changes(base: dict[str, Any], recipe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sections of ``recipe`` that differ from ``base``, whole: a variant that makes it."""
    from trainwell.sections import SECTIONS

    return {k: v for k, v in recipe.items() if k in SECTIONS and base.get(k) != v}


def _apply(experiment: str, base: dict[str, Any], fix: Fix) -> Recipe:
    return Sweep(experiment, base, (Axis("variant", (fix.variant(),)),)).recipes()[0][2]


def _resolve(experiment: str, base: dict[str, Any]) -> Recipe:
    return Sweep(experiment, base, (Axis("variant", ({"label": ORIGINAL},)),)).recipes()[0][2]


def _lookup(store: Any, experiment: str, base: dict[str, Any], label: str, reason: str,
            fix: Fix | None = None) -> Candidate:
    """The stored run of ``base`` (with ``fix``), found by its run id."""
    from trainwell.sweep import run_id

    recipe = _apply(experiment, base, fix) if fix is not None else _resolve(experiment, base)
    rid = run_id(recipe.to_dict())
    r = next(r for r in store.runs(experiment) if r.id == rid)
    final = r.final or {}
    last = next((line for line in reversed((r.error or "").splitlines()) if line.strip()), None)
    return Candidate(label, reason, r.id, r.status, final.get("val_acc"), final.get("val_loss"),
                     final.get("test_acc"), r.seconds, last)


def _symptoms(store: Any, run_id: str) -> tuple[list[LiveVerdict], list[str]]:
    """The live verdicts of the original run (from its history in the run folder) and the
    symptoms, live ones first, then the final diagnosis's."""
    import json

    history = store.path.parent / run_id / "history.json" if hasattr(store, "path") else None
    verdicts: list[LiveVerdict] = []
    if history is not None and history.exists():
        data = json.loads(history.read_text())
        watched = data.get("watch") or (data.get("extra") or {}).get("watch") or {}
        verdicts = [LiveVerdict.from_dict(v) for v in watched.get("verdicts", [])]
    kinds = [v.kind for v in verdicts]
    if not verdicts:
        kinds = [name.split("/", 1)[1] for _, _, name, _ in store.metrics([run_id])
                 if name.startswith("verdict/")]
    row = next(r for r in store.runs() if r.id == run_id)
    if row.status == "diverged" and "nan" not in kinds:
        kinds.append("nan")
    for v in row.verdicts or []:
        kind = FINAL_SYMPTOMS.get(v.get("kind", ""))
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    return verdicts, kinds


def _gap(store: Any, run_id: str) -> float | None:
    final = next(r for r in store.runs() if r.id == run_id).final or {}
    train, val = final.get("train_acc"), final.get("val_acc")
    return train - val if train is not None and val is not None else None


def _range_lr(recipe: Recipe, steps: int) -> float | None:
    from trainwell.recipe_lr_find import lr_find_recipe

    try:
        return lr_find_recipe(recipe, steps=steps).suggestion
    except Exception:  # a failed range test leaves the other fixes to race
        return None


def _pick(candidates: Sequence[Candidate]) -> str:
    """The label with the best validation accuracy (then the lower validation loss); the
    original unless a fix does better."""
    return max(candidates, key=_rank).label if candidates else ORIGINAL


def _rank(c: Candidate) -> tuple[float, float, bool]:
    acc = c.val_acc if c.status == "done" and c.val_acc is not None else -1.0
    loss = c.val_loss if c.val_loss is not None and math.isfinite(c.val_loss) else math.inf
    return (acc, -loss, c.label == ORIGINAL)


def _curves(store: Any, ids: Sequence[str]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Per run: ``loss`` and ``val_acc`` as ``(step, value)`` lists."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {i: {"loss": [], "val_acc": []} for i in ids}
    for run, step, name, value in store.metrics(list(ids), ["loss", "val_acc"]):
        if value is not None:
            out[run][name].append((step, value))
    return out


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"
