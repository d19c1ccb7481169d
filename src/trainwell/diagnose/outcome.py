"""Verdicts that agree with how a run ended: :func:`not_trained` says whether a run trained, and
:func:`agree_with_outcome` never lets a run that did not be called healthy.

A probe judges the network a run ended with, on one batch; the run's own history (its status,
accuracy and loss) can say it did not train when that probe finds nothing wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from trainwell.diagnose.diagnosis import Verdict
from trainwell.diagnose.wording import num

__all__ = ["not_trained", "agree_with_outcome", "CHANCE_MARGIN", "LOSS_FALL"]

CHANCE_MARGIN = 0.05
"""A run did not converge when its final training accuracy is below chance plus 5 points: the
report's n/c rule."""
LOSS_FALL = 0.25
"""A run trained when its training loss fell by at least a quarter of where it started (a
10-class network starts near ln 10 = 2.30; one at 1.8 after its budget has learnt little)."""


def not_trained(*, status: str, train_acc: float | None, num_classes: int,
                first_loss: float | None, last_loss: float | None) -> str | None:
    """The evidence that a run did not train, as a phrase, or None when it trained.

    A run did not train when it diverged or failed, when its final training accuracy is below
    chance plus :data:`CHANCE_MARGIN`, or when its training loss fell by less than
    :data:`LOSS_FALL` of where it started.

    >>> not_trained(status="done", train_acc=0.2, num_classes=10, first_loss=2.3, last_loss=2.1)
    'the training loss fell only from 2.3 to 2.1 (9 %), to 20.0 % training accuracy'
    >>> not_trained(status="done", train_acc=0.9, num_classes=10, first_loss=2.3, last_loss=0.4)
    """
    if status != "done":
        return f"the run {status}"
    if train_acc is not None and train_acc < 1 / num_classes + CHANCE_MARGIN:
        return (f"its training accuracy, {100 * train_acc:.1f} %, is within "
                f"{100 * CHANCE_MARGIN:.0f} points of chance ({100 / num_classes:.1f} %)")
    if first_loss is not None and last_loss is not None and first_loss > 0 and \
            math.isfinite(first_loss) and math.isfinite(last_loss) and \
            last_loss > (1 - LOSS_FALL) * first_loss:
        acc = f", to {100 * train_acc:.1f} % training accuracy" if train_acc is not None else ""
        return (f"the training loss fell only from {num(first_loss)} to {num(last_loss)} "
                f"({100 * (1 - last_loss / first_loss):.0f} %){acc}")
    return None


def agree_with_outcome(verdicts: Sequence[Verdict], evidence: str | None) -> list[Verdict]:
    """``verdicts`` made to agree with how the run ended: a run that did not train (``evidence``
    says why, :func:`not_trained`) is never called healthy. The probe of its trained network
    may still name a cause; when it names none, the verdict says so and what to try.

    >>> v = agree_with_outcome([Verdict("healthy", (), "healthy: ...", "")], "the run diverged")
    >>> v[0].kind, v[0].message[:32]
    ('not_trained', 'did not train: the run diverged;')
    """
    if evidence is None:
        return list(verdicts)
    causes = [v for v in verdicts if v.kind != "healthy"]
    if causes:
        return causes
    return [Verdict("not_trained", (), f"did not train: {evidence}; the probe of the trained "
                    "network finds no cause in one batch", "find a learning rate with "
                    "`trainwell lr-find`, or let `trainwell doctor` race the fixes")]
