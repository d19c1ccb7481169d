"""What one call of the doctor found and did: the recipe as given, its verdicts and symptoms,
the fixes screened and raced, the chosen one and its recipe, the files written and the seconds
each phase took; ``str()`` of it is the line ``trainwell doctor`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trainwell.diagnose.symptoms import LiveVerdict
from trainwell.doctor.fixes import Fix
from trainwell.doctor.runs import ORIGINAL, Candidate
from trainwell.recipe import Recipe

__all__ = ["DoctorResult", "percent"]


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
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: ``original``, ``range_test``, ``screening``, ``race``, ``report``,
    ``page``."""
    screen_budget: str = ""
    """A screening run's budget against the recipe's: ``"1 of 8 epochs"``, ``"25 of 200
    steps"``."""

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
        early = " where it stopped" if self.original.stopped and self.original.val_acc is not None else ""
        return (f"found {found}; chose {self.chosen}: val_acc {percent(self.original.val_acc)}{early} -> "
                f"{percent(self.winner.val_acc)} (test {percent(self.original.test_acc)} -> "
                f"{percent(self.winner.test_acc)}) in {self.seconds:.0f} s")


def percent(v: float | None) -> str:
    """An accuracy as the doctor writes it: ``"97.5 %"``, or a dash when there is none.

    >>> percent(0.975), percent(None)
    ('97.5 %', '—')
    """
    return "—" if v is None else f"{100 * v:.1f} %"
