"""Whether a stored run trained: ``ok``, ``n/c`` (did not converge), ``failed`` or ``unfinished``.

A run *did not converge* ("n/c") when it diverged, or when it finished with a final train
accuracy below chance level plus a margin::

    n/c  ⇔  status == "diverged"  or  train_acc < 1 / num_classes + CHANCE_MARGIN

(a finished run without a final train accuracy counts as n/c too). The train accuracy decides,
not the test accuracy: a net that does not fit its training data did not train, whatever it
scores on held-out data. The lecture's CIFAR-10 table marks such cells "n/c"
(Kumar, "Weight initialization in deep neural networks", 2017).

>>> run = RunRow("x", "e", "zeros", {}, 0, {}, "done", None, 1, None, None, None,
...              {"train_acc": 0.12}, None, None, None)
>>> run_outcome(run), run_outcome(run, num_classes=20)
('n/c', 'ok')
"""

from __future__ import annotations

from collections.abc import Sequence

from trainwell.diagnose.outcome import CHANCE_MARGIN
from trainwell.loop.metrics import TRAIN_ACC
from trainwell.report.stats import finite_number
from trainwell.run.store_read import RunRow

__all__ = ["run_outcome", "chance_threshold", "runs_classes", "CHANCE_MARGIN",
           "DEFAULT_NUM_CLASSES"]


DEFAULT_NUM_CLASSES = 10
"""Classes of every built-in dataset (mnist1d, digits, mnist5k, MNIST, CIFAR-10)."""


def chance_threshold(num_classes: int = DEFAULT_NUM_CLASSES) -> float:
    """The train accuracy a run must reach to count as trained: ``1/num_classes + CHANCE_MARGIN``.

    >>> round(chance_threshold(10), 4)
    0.15
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"Invalid num_classes: {num_classes!r} (expected an integer >= 2)")
    return 1.0 / num_classes + CHANCE_MARGIN


def runs_classes(runs: Sequence[RunRow], default: int = DEFAULT_NUM_CLASSES) -> int:
    """The number of classes the runs share: that of their ``data.classes`` when every run
    keeps the same number of classes, ``default`` otherwise."""
    counts = {_recorded_classes(r) or (
        len(k) if isinstance(k := (r.recipe.get("data") or {}).get("classes"), list) else None)
        for r in runs}
    return next(iter(counts)) or default if len(counts) == 1 else default


def _recorded_classes(run: RunRow) -> int | None:
    """The number of classes the run trained on, as its store recorded it (``None`` before
    stores kept it)."""
    n = (run.data or {}).get("num_classes")
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 2 else None


def run_outcome(run: RunRow, *, num_classes: int = DEFAULT_NUM_CLASSES) -> str:
    """``"ok"``, ``"n/c"`` (diverged or stayed at chance), ``"failed"`` or ``"unfinished"``.

    A run that keeps a subset of the classes (``data.classes``) is judged against its own
    number of classes."""
    kept = (run.recipe.get("data") or {}).get("classes") if isinstance(run.recipe, dict) else None
    if isinstance(kept, list) and len(kept) >= 2:
        num_classes = len(kept)
    num_classes = _recorded_classes(run) or num_classes
    if run.status == "failed":
        return "failed"
    if run.status == "diverged":
        return "n/c"
    if run.status != "done":
        return "unfinished"
    acc = finite_number(run.final.get(TRAIN_ACC))
    return "n/c" if acc is None or acc < chance_threshold(num_classes) else "ok"
