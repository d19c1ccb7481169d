"""The doctor's experiments: their sweeps run through the same driver as ``trainwell compare``,
their runs read back as :class:`Candidate` rows.

Each experiment folder's store is opened once for the whole doctor call and closed at its end
(not once per round and again per look-up), and each recipe a fix makes is resolved once.
Screening runs, stored in the same experiment as its earlier grids, keep no weights or
predictions (``artifacts=False``): only their recipes, histories and store rows, which is all
the doctor reads of them; and they are judged by their live monitor and validation alone
(``diagnose=False``: no final diagnosis, no final pass over the training set).

>>> runs = Experiments(Path("runs/doctor"), backend=None)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainwell.diagnose.symptoms import LiveVerdict
from trainwell.doctor.fixes import Fix
from trainwell.plan import plan
from trainwell.recipe import Recipe
from trainwell.run import Backend, Destination, run_plan
from trainwell.run.store import Store
from trainwell.sweep import Axis, Sweep, run_id
from trainwell.sweep_variants import VARIANT, VARIANT_LABEL

__all__ = ["Candidate", "Experiments", "FINAL_SYMPTOMS", "ORIGINAL", "race"]

ORIGINAL = "original"
FINAL_SYMPTOMS = {"non_finite": "nan", "dead": "dying_relu", "saturated": "saturated",
                  "vanishing_gradient": "vanishing", "exploding_gradient": "exploding",
                  "vanishing_activations": "vanishing", "exploding_activations": "exploding",
                  "symmetric": "slow", "lr_too_high": "lr_high", "lr_too_low": "lr_low",
                  "not_trained": "slow"}
"""The final diagnosis's verdict kinds (:data:`~trainwell.diagnose.VERDICT_KINDS`) as symptoms."""


@dataclass
class Candidate:
    """One raced recipe: its label, reason, run id, status and final metrics; ``stopped``: why
    it ended before its budget (its ``stop_reason``), and then ``val_acc`` is the last measured
    (``status`` keeps it out of the ranking)."""

    label: str
    reason: str
    run_id: str
    status: str
    val_acc: float | None
    val_loss: float | None
    test_acc: float | None
    seconds: float | None
    error: str | None = None
    stopped: str | None = None

    @property
    def ended(self) -> str:
        """The status, with where and why a run stopped early: ``diverged: stopped at step 62
        (chance)``.

        >>> Candidate("a", "", "1", "diverged", None, None, None, None,
        ...           stopped="stopped at step 62 (chance): accuracy at chance").ended
        'diverged: stopped at step 62 (chance)'
        """
        return self.status if not self.stopped else f"{self.status}: {self.stopped.split(':')[0]}"


def race(experiment: str, base: dict[str, Any], label: str | None, fixes: Sequence[Fix]) -> Sweep:
    """``base`` (as ``label``; left out when ``None``) and each fix, as sweep variants."""
    variants = (*([{VARIANT_LABEL: label}] if label is not None else []),
                *(f.variant() for f in fixes))
    return Sweep(experiment, base, (Axis(VARIANT, tuple(variants)),))


class Experiments:
    """The doctor's experiments under ``out``, run on ``backend``; :meth:`close` at the end."""

    def __init__(self, out: Path, backend: Backend | None, *, quiet: bool = True) -> None:
        self.out, self.backend, self.quiet = out, backend, quiet
        self._open: dict[tuple[str, bool], Destination] = {}
        self._recipes: dict[str, Recipe] = {}

    def run(self, sweep: Sweep, *, screening: bool = False) -> None:
        """Run the unfinished runs of ``sweep`` into ``out/<experiment>``; ``screening`` runs keep
        no weights or predictions and are judged by their live monitor alone."""
        p = plan(sweep)
        sources = self._destination(p.source_experiment, False) if p.sources else None
        run_plan(p, self._destination(p.experiment, screening), sources, backend=self.backend,
                 quiet=self.quiet)

    def store(self, experiment: str) -> Store:
        return self._destination(experiment, False).store

    def recipe(self, base: dict[str, Any], fix: Fix | None = None) -> Recipe:
        """``base`` with ``fix`` (``None``: as it is), resolved as a sweep variant is."""
        variant = fix.variant() if fix is not None else {VARIANT_LABEL: ORIGINAL}
        key = json.dumps([base, variant], sort_keys=True, default=repr)
        if key not in self._recipes:
            sweep = Sweep("doctor", base, (Axis(VARIANT, (variant,)),))
            self._recipes[key] = sweep.recipes()[0][2]
        return self._recipes[key]

    def lookup(self, experiment: str, base: dict[str, Any], label: str, reason: str,
               fix: Fix | None = None) -> Candidate:
        """The stored run of ``base`` (with ``fix``), found by its run id."""
        rid = run_id(self.recipe(base, fix).to_dict())
        r = self.store(experiment).runs(ids=[rid])[0]
        final = r.final or {}
        last = next((line for line in reversed((r.error or "").splitlines()) if line.strip()), None)
        stopped = r.stop_reason if r.status == "diverged" else None
        val_acc = final.get("val_acc")
        if stopped and val_acc is None:
            measured = [v for *_, v in self.store(experiment).metrics([rid], ["val_acc"]) if v is not None]
            val_acc = measured[-1] if measured else None
        return Candidate(label, reason, r.id, r.status, val_acc, final.get("val_loss"),
                         final.get("test_acc"), r.seconds, last, stopped)

    def symptoms(self, experiment: str, rid: str) -> tuple[list[LiveVerdict], list[str]]:
        """The live verdicts of run ``rid`` (from its history in the run folder) and its
        symptoms, live ones first, then the final diagnosis's; a run that diverged is ``nan``
        unless a verdict of its ``train.stop_on`` other than ``nan`` ended it."""
        store = self.store(experiment)
        history = self.out / experiment / rid / "history.json"
        verdicts: list[LiveVerdict] = []
        if history.exists():
            data = json.loads(history.read_text())
            watched = data.get("watch") or (data.get("extra") or {}).get("watch") or {}
            verdicts = [LiveVerdict.from_dict(v) for v in watched.get("verdicts", [])]
        kinds = [v.kind for v in verdicts]
        if not verdicts:
            kinds = [name.split("/", 1)[1] for _, _, name, _ in store.metrics([rid])
                     if name.startswith("verdict/")]
        row = store.runs(ids=[rid])[0]
        stop_on = (row.recipe.get("train") or {}).get("stop_on") or []
        stopped = next((k for k in kinds if k in stop_on), None)  # the verdict that ended it
        if row.status == "diverged" and stopped in (None, "nan") and "nan" not in kinds:
            kinds.append("nan")
        for v in row.verdicts or []:
            kind = FINAL_SYMPTOMS.get(v.get("kind", ""))
            if kind is not None and kind not in kinds:
                kinds.append(kind)
        return verdicts, kinds

    def train_samples(self, experiment: str, rid: str) -> int | None:
        """The number of training samples run ``rid`` trained on (``None``: not recorded)."""
        data = self.store(experiment).runs(ids=[rid])[0].data or {}
        return data.get("train_samples")

    def gap(self, experiment: str, rid: str) -> float | None:
        """Training minus validation accuracy of run ``rid`` (``None``: not both measured)."""
        final = self.store(experiment).runs(ids=[rid])[0].final or {}
        train, val = final.get("train_acc"), final.get("val_acc")
        return train - val if train is not None and val is not None else None

    def curves(self, experiment: str, ids: Sequence[str]) -> dict[str, dict[str, list[tuple[int, float]]]]:
        """Per run: ``loss`` and ``val_acc`` as ``(step, value)`` lists."""
        out: dict[str, dict[str, list[tuple[int, float]]]] = {i: {"loss": [], "val_acc": []}
                                                               for i in ids}
        for run, step, name, value in self.store(experiment).metrics(list(ids), ["loss", "val_acc"]):
            if value is not None:
                out[run][name].append((step, value))
        return out

    def close(self) -> None:
        for store in {id(d.store): d.store for d in self._open.values()}.values():
            store.close()
        self._open.clear()

    def _destination(self, experiment: str, screening: bool) -> Destination:
        """The experiment's destination for screening runs or for full ones: one store."""
        if (experiment, screening) not in self._open:
            shared = self._open.get((experiment, not screening))
            dest = Destination.experiment_folder(self.out / experiment) if shared is None else shared
            self._open[experiment, screening] = Destination(
                dest.folder, dest.store, dest.run_folder, artifacts=not screening,
                diagnose=not screening)
        return self._open[experiment, screening]
