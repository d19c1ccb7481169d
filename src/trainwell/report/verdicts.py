"""Verdicts as the report shows them: in plain words, never ``healthy`` for a run that did not
train, and the most important one among a grid point's seeds.

Verdict kinds rank as :data:`trainwell.diagnose.VERDICT_KINDS` lists them: causes before
consequences, ``healthy`` last.

>>> verdict_words("vanishing_gradient"), CellVerdict("dead", 1, 3).text
('vanishing gradient', 'dead units (1/3)')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainwell.report.outcome import DEFAULT_NUM_CLASSES, run_outcome
from trainwell.run.store_read import RunRow

__all__ = ["CellVerdict", "cell_verdict", "verdict_words", "shown_verdicts", "NOT_TRAINED",
           "VERDICT_WORDS"]

VERDICT_WORDS = {"non_finite": "non-finite values", "symmetric": "symmetric units",
                 "dead": "dead units", "saturated": "saturated units",
                 "exploding_activations": "exploding activations",
                 "vanishing_activations": "vanishing activations",
                 "vanishing_gradient": "vanishing gradient",
                 "exploding_gradient": "exploding gradient", "lr_too_high": "lr too high",
                 "lr_too_low": "lr too low", "not_trained": "did not train", "healthy": "healthy"}
"""Each verdict kind (:data:`trainwell.diagnose.VERDICT_KINDS`) in a few plain words."""


def verdict_words(kind: str) -> str:
    """A verdict kind in plain words: ``"vanishing_gradient"`` → ``"vanishing gradient"``."""
    return VERDICT_WORDS.get(kind, str(kind).replace("_", " "))


def _rank(kind: str) -> float:
    """Importance of a verdict kind: causes before consequences, healthy last; a kind this
    version does not know ranks just before healthy."""
    from trainwell.diagnose.verdicts import VERDICT_KINDS

    if kind in VERDICT_KINDS:
        return VERDICT_KINDS.index(kind)
    return VERDICT_KINDS.index("healthy") - 0.5


@dataclass(frozen=True)
class CellVerdict:
    """The most important verdict kind among a grid point's seeds, and on how many of the
    ``of`` diagnosed seeds it was found (``count``)."""

    kind: str
    count: int
    of: int

    @property
    def text(self) -> str:
        """``"vanishing gradient"``, or ``"dead units (2/3)"`` when the seeds disagree."""
        words = verdict_words(self.kind)
        return words if self.count == self.of else f"{words} ({self.count}/{self.of})"

    @property
    def healthy(self) -> bool:
        return self.kind == "healthy"


def cell_verdict(runs: Sequence[RunRow], *, num_classes: int = DEFAULT_NUM_CLASSES
                 ) -> CellVerdict | None:
    """The most important verdict kind over the seeds' shown verdicts (:func:`shown_verdicts`,
    a run judged n/c against ``num_classes`` when it recorded none of its own), and on how many
    of the diagnosed seeds it was found; ``None`` when no seed was diagnosed."""
    kinds = [{v.get("kind", "") for v in shown_verdicts(r, num_classes=num_classes)}
             for r in runs if r.verdicts]
    if not kinds:
        return None
    top = min(set().union(*kinds), key=_rank)
    return CellVerdict(top, sum(top in k for k in kinds), len(kinds))


NOT_TRAINED = {"kind": "not_trained", "message": "did not train: the run is n/c (it diverged, "
               "or its final training accuracy is within 5 points of chance); the probe of the "
               "trained network finds no cause in one batch", "fix": "find a learning rate with "
               "`trainwell lr-find`, or let `trainwell doctor` race the fixes"}
"""What a run that did not train shows where its stored diagnosis says ``healthy``."""


def shown_verdicts(run: RunRow, *, num_classes: int = DEFAULT_NUM_CLASSES) -> list[dict[str, Any]]:
    """The run's verdicts as the report shows them: a run that did not train (n/c) is never
    healthy, whatever its probe said (runs stored before verdicts agreed with outcomes)."""
    verdicts = list(run.verdicts or [])
    if run_outcome(run, num_classes=num_classes) != "n/c":
        return verdicts
    causes = [v for v in verdicts if v.get("kind") != "healthy"]
    return causes or ([NOT_TRAINED] if verdicts else [])
