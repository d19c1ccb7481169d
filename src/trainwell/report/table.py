"""The results table of an experiment: final accuracy per grid point, mean ± std over seeds.

Pure functions over stored runs (:class:`~trainwell.run.store_read.RunRow`), shared by the HTML
report and the terminal table, so both show the same numbers.

A run *did not converge* ("n/c") when it diverged, or when it finished with a final train
accuracy below chance level plus a margin::

    n/c  ⇔  status == "diverged"  or  train_acc < 1 / num_classes + CHANCE_MARGIN

(a finished run without a final train accuracy counts as n/c too). The train accuracy decides,
not the test accuracy: a net that does not fit its training data did not train, whatever it
scores on held-out data. The lecture's CIFAR-10 table marks such cells "n/c"
(Kumar, "Weight initialization in deep neural networks", 2017).

>>> grid = results_grid([], ["init"])
>>> grid.layout, grid.best
('flat', None)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import TrainwellError, did_you_mean
from trainwell.loop.metrics import OWN_TEST_ACC, TEST_ACC, TRAIN_ACC
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow
from trainwell.sweep import format_value

if TYPE_CHECKING:
    from trainwell.report.ensembles import RunsEnsemble

__all__ = ["Cell", "CellVerdict", "Stat", "stat", "ResultsGrid", "results_grid", "run_outcome",
           "chance_threshold",
           "axis_values", "format_stat", "runs_classes", "pick_experiment", "verdict_words", "CHANCE_MARGIN",
           "shown_verdicts", "NOT_TRAINED",
           "DEFAULT_NUM_CLASSES", "VERDICT_WORDS"]

RAW_METRICS = OWN_TEST_ACC
"""Final metrics that keep the trained model's own test accuracy when the run's final
prediction is an average (weights, snapshots or test-time views)."""

CHANCE_MARGIN = 0.05
"""A run whose final train accuracy is below ``1/num_classes + CHANCE_MARGIN`` stayed at chance."""

DEFAULT_NUM_CLASSES = 10
"""Classes of every built-in dataset (mnist1d, digits, mnist5k, MNIST, CIFAR-10)."""

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
    acc = _number(run.final.get(TRAIN_ACC))
    return "n/c" if acc is None or acc < chance_threshold(num_classes) else "ok"


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
                     for r in self.runs if run_outcome(r) == "ok"])

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
        kinds = [{v.get("kind", "") for v in shown_verdicts(r)} for r in self.runs if r.verdicts]
        if not kinds:
            return None
        top = min(set().union(*kinds), key=_rank)
        return CellVerdict(top, sum(top in k for k in kinds), len(kinds))


@dataclass
class ResultsGrid:
    """Cells in grid order; ``layout`` is ``"grid"`` (axis 1 = rows, axis 2 = columns) for
    exactly two axes, else ``"flat"`` (one row per grid point)."""

    axes: list[str]
    cells: list[Cell]
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        return "grid" if len(self.axes) == 2 else "flat"

    @property
    def best(self) -> Cell | None:
        return next((c for c in self.cells if c.best), None)

    def at(self, row: str, col: str) -> Cell | None:
        """The cell at a row value and a column value (grid layout)."""
        return next((c for c in self.cells if c.values == [row, col]), None)


def results_grid(runs: Sequence[RunRow], axes: Sequence[str], *,
                 num_classes: int = DEFAULT_NUM_CLASSES,
                 folder: str | Path | None = None) -> ResultsGrid:
    """Group ``runs`` by grid point (their label) and summarize each group.

    The mean ± std (sample std, over seeds) is taken over every seed that has a final
    accuracy, n/c seeds included; diverged runs have none. The best cell is the converged
    one with the highest mean test accuracy (the first in grid order on a tie). With the
    experiment's ``folder``, each cell also gets the ensemble of its seeds (from their stored
    predictions, :mod:`trainwell.report.ensembles`) and, for snapshot ensembles, the accuracy
    against the number of snapshots.

    >>> results_grid([], ["init", "model.activation"]).layout
    'grid'
    """
    groups: dict[str, list[RunRow]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    cells = [_cell(label, members, axes, num_classes) for label, members in groups.items()]
    if folder is not None:
        from trainwell.report.ensembles import load_all, seed_ensemble, snapshot_curve

        for cell in cells:
            loaded = load_all(folder, cell.runs)
            cell.ensemble = seed_ensemble(folder, cell.runs, loaded=loaded)
            cell.snapshots = snapshot_curve(folder, cell.runs, loaded=loaded)
    ranked = [(c.test[0], c) for c in cells if c.converged and c.test is not None]
    if ranked:
        max(ranked, key=lambda pair: pair[0])[1].best = True
    grid = ResultsGrid(list(axes), cells)
    if grid.layout == "grid":
        values = axis_values(runs, axes)
        grid.rows, grid.cols = values[axes[0]], values[axes[1]]
    return grid


def axis_values(runs: Sequence[RunRow], axes: Sequence[str]) -> dict[str, list[str]]:
    """Each axis's distinct values as displayed (:func:`format_value`), in grid order."""
    out: dict[str, list[str]] = {key: [] for key in axes}
    for run in runs:
        for key in axes:
            shown = format_value(run.point.get(key))
            if shown not in out[key]:
                out[key].append(shown)
    return out


def format_stat(stat: tuple[float, float | None] | None) -> str:
    """A (mean, std) accuracy pair in percent: ``"91.2 ± 0.4"``; ``"-"`` when missing."""
    if stat is None:
        return "-"
    mean, std = stat
    return f"{100 * mean:.1f}" if std is None else f"{100 * mean:.1f} ± {100 * std:.1f}"


def pick_experiment(store: Store, experiment: str | None = None) -> str:
    """``experiment`` if the store has it; by default the most recently created one."""
    names = store.experiments()
    if not names:
        raise TrainwellError(f"no experiment recorded in {str(store.path)!r}")
    if experiment is None:
        return names[-1]
    if experiment not in names:
        raise TrainwellError(f"experiment {experiment!r} is not in {str(store.path)!r}"
                             f"{did_you_mean(experiment, names)}; recorded: {', '.join(names)}")
    return experiment


def _cell(label: str, runs: list[RunRow], axes: Sequence[str], num_classes: int) -> Cell:
    counts = {"ok": 0, "n/c": 0, "failed": 0, "unfinished": 0}
    for run in runs:
        counts[run_outcome(run, num_classes=num_classes)] += 1
    scored = [r for r in runs if run_outcome(r, num_classes=num_classes) in ("ok", "n/c")]
    stats = {"test": stat([r.final.get(TEST_ACC) for r in scored]),
             "train": stat([r.final.get(TRAIN_ACC) for r in scored]),
             "gap": stat([_difference(r.final.get(TRAIN_ACC), r.final.get(TEST_ACC)) for r in scored])}
    pairs = {k: None if v is None else (v.mean, v.std) for k, v in stats.items()}
    return Cell(label=label, values=[format_value(runs[0].point.get(k)) for k in axes],
                runs=runs, counts=counts, test=pairs["test"], train=pairs["train"],
                gap=pairs["gap"], stats=stats)


def _difference(a: Any, b: Any) -> float | None:
    x, y = _number(a), _number(b)
    return None if x is None or y is None else x - y


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class Stat:
    """One metric over a grid point's seeds, as stored (accuracies as fractions): the mean,
    the sample std (``None`` with fewer than two values) and ``n``, the values it is over."""

    mean: float
    std: float | None
    n: int


def stat(values: Sequence[Any]) -> Stat | None:
    """Mean, sample std and count of the finite numbers in ``values``; ``None`` without any.

    >>> s = stat([0.5, 0.7, None])
    >>> round(s.mean, 3), round(s.std, 4), s.n
    (0.6, 0.1414, 2)
    """
    xs = [x for x in map(_number, values) if x is not None]
    if not xs:
        return None
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return Stat(mean, None, 1)
    return Stat(mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)), len(xs))

