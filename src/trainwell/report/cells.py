"""One cell of the results table: a grid point's runs (one per seed) and what they show.

A cell holds the seeds' final accuracies, mean ± std (:mod:`trainwell.report.stats`), how many
seeds trained, did not converge, failed or are still pending (:mod:`trainwell.report.outcome`),
and reads off what the table prints: a number or why there is none, a note on the seeds the
mean leaves out, the most important verdict (:mod:`trainwell.report.verdicts`).

>>> cell = Cell("he", ["he"], [], {"ok": 2, "n/c": 1, "failed": 0, "unfinished": 0},
...             test=(0.912, 0.004), train=(0.95, 0.01))
>>> cell.text(), cell.text("train"), cell.kind
('91.2 ± 0.4', '95.0 ± 1.0', 'value')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trainwell.loop.metrics import OWN_TEST_ACC
from trainwell.report.outcome import DEFAULT_NUM_CLASSES, run_outcome
from trainwell.report.stats import Stat, format_stat, stat
from trainwell.report.verdicts import CellVerdict, cell_verdict
from trainwell.run.store_read import RunRow

if TYPE_CHECKING:
    from trainwell.report.ensembles import RunsEnsemble

__all__ = ["Cell", "RAW_METRICS"]

RAW_METRICS = OWN_TEST_ACC
"""Final metrics that keep the trained model's own test accuracy when the run's final
prediction is an average (weights, snapshots or test-time views)."""


@dataclass
class Cell:
    """One grid point: its runs (one per seed) and their final accuracies, mean ± std."""

    label: str
    values: list[str]
    runs: list[RunRow]
    counts: dict[str, int]
    test: tuple[float, float | None] | None
    train: tuple[float, float | None] | None
    gap: tuple[float, float | None] | None = None
    best: bool = False
    ensemble: RunsEnsemble | None = None
    snapshots: list[float] | None = None
    stats: dict[str, Stat | None] = field(default_factory=dict)
    num_classes: int = DEFAULT_NUM_CLASSES

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def seconds(self) -> float | None:
        """Mean training time of the finished seeds, in seconds."""
        times = [r.seconds for r in self.runs if r.status == "done" and r.seconds is not None]
        return sum(times) / len(times) if times else None

    @property
    def ensemble_text(self) -> str:
        """The accuracy (%) of the ensemble of the seeds; ``"-"`` without one, or when no seed
        trained."""
        e = self.ensemble
        return "-" if e is None or not self.counts["ok"] else f"{100 * e.score.ensemble:.1f}"

    @property
    def raw(self) -> tuple[float, float | None] | None:
        """Test accuracy of the seeds' trained model alone, mean ± std, for runs whose final
        prediction is more than that model: before weight averaging (``test_acc_raw``), the
        last snapshot of a snapshot ensemble (``test_acc_last``), one test view
        (``test_acc_single``); ``None`` for plain runs."""
        found = self.raw_stat
        return None if found is None else (found.mean, found.std)

    @property
    def raw_stat(self) -> Stat | None:
        """:attr:`raw` with its count: the trained model's own test accuracy over the seeds."""
        return stat([next((r.final[k] for k in RAW_METRICS if r.final.get(k) is not None), None)
                     for r in self.runs if run_outcome(r, num_classes=self.num_classes) == "ok"])

    @property
    def converged(self) -> bool:
        """Every finished seed trained (none n/c, none failed) and at least one has a number."""
        c = self.counts
        return c["ok"] > 0 and c["n/c"] == 0 and c["failed"] == 0 and self.test is not None

    @property
    def kind(self) -> str:
        """``"value"`` when a seed trained (the cell shows its numbers), else why not:
        ``"n/c"`` (none converged), ``"failed"`` (none ran to the end) or ``"pending"``
        (none finished yet)."""
        c = self.counts
        if c["ok"] + c["n/c"] + c["failed"] == 0:
            return "pending"
        if c["ok"] == 0:
            return "n/c" if c["n/c"] else "failed"
        return "value"

    def text(self, metric: str = "test") -> str:
        """``"91.2 ± 0.4"`` (percent), or the :attr:`kind` (``n/c``, ``failed``, ``pending``);
        ``metric`` is ``test``, ``train`` or ``gap`` (the generalization gap: train minus test
        accuracy, per seed, in points)."""
        if self.kind != "value":
            return self.kind
        return format_stat({"test": self.test, "train": self.train, "gap": self.gap}[metric])

    @property
    def note(self) -> str:
        """What the mean leaves out: ``"1/3 n/c"``, ``"1/3 failed"``, ``"2/3 pending"``."""
        c, shown = self.counts, self.kind
        parts = [f"{c[k]}/{self.n} {k}" for k in ("n/c", "failed") if c[k] and k != shown]
        if c["unfinished"] and shown != "pending":
            parts.append(f"{c['unfinished']}/{self.n} pending")
        return ", ".join(parts)

    @property
    def verdict(self) -> CellVerdict | None:
        """The most important verdict kind over the seeds' diagnoses (``None`` when no seed
        was diagnosed): e.g. one seed with dead units and two healthy give ``dead (1/3)``."""
        return cell_verdict(self.runs, num_classes=self.num_classes)
