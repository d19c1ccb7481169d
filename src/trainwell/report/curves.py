"""The report's curves from the store: each run's metric series, and the training-loss and
validation-accuracy curves of the runs that trained (done or diverged), by grid point.

>>> loss_curves({"a1": {"loss": ([0, 1], [2.3, 1.1])}}, [])
{}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from trainwell.loop.metrics import LOSS, VAL_ACC
from trainwell.report.charts import Curve
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow

__all__ = ["Series", "SHOWN", "series", "stored_series", "epoch_numbers", "loss_curves",
           "val_acc_curves"]

Series = dict[str, dict[str, tuple[list[int], list[float | None]]]]
"""Metrics by run id, then by name: (steps, values)."""

SHOWN = ("done", "diverged")
"""The statuses of runs whose curves are drawn."""


def series(rows: Iterable[tuple[str, int, str, float | None]]) -> Series:
    """Metric rows ``(run, step, name, value)`` (:meth:`Store.metrics`) as series.

    >>> series([("a1", 0, "loss", 2.3), ("a1", 1, "loss", 1.1)])
    {'a1': {'loss': ([0, 1], [2.3, 1.1])}}
    """
    out: Series = {}
    for run, step, name, value in rows:
        steps, values = out.setdefault(run, {}).setdefault(name, ([], []))
        steps.append(step)
        values.append(value)
    return out


def stored_series(store: Store, ids: Sequence[str]) -> Series:
    """The metric series of the runs ``ids`` in ``store``."""
    return series(store.metrics(list(ids))) if ids else {}


def epoch_numbers(metrics: dict[str, tuple[list[int], list[float | None]]]) -> dict[int, int]:
    """A run's epoch number (1, 2, ...) by the step each epoch ended, counted from its
    per-epoch ``train_loss`` rows (every epoch has one).

    >>> epoch_numbers({"train_loss": ([10, 20], [1.2, 0.9])})
    {10: 1, 20: 2}
    """
    return {step: i + 1 for i, step in enumerate(metrics.get("train_loss", ([], []))[0])}


def loss_curves(series: Series, shown: Sequence[RunRow]) -> dict[str, list[Curve]]:
    """Each run's per-step training loss, grouped by grid point (its label); a diverged run's
    curve ends where it diverged."""
    out: dict[str, list[Curve]] = {}
    for r in shown:
        steps, values = series.get(r.id, {}).get(LOSS, ([], []))
        diverged_at = None
        if r.status == "diverged":
            diverged_at = r.diverged_step if r.diverged_step is not None else max(steps,
                                                                                  default=None)
        out.setdefault(r.label, []).append(Curve(steps, values, diverged_at))
    return out


def val_acc_curves(series: Series, shown: Sequence[RunRow]) -> dict[str, list[Curve]]:
    """Validation accuracy by epoch number (1, 2, ...), counted from the per-epoch rows."""
    out: dict[str, list[Curve]] = {}
    for r in shown:
        metrics = series.get(r.id, {})
        epoch_of = epoch_numbers(metrics)
        steps, values = metrics.get(VAL_ACC, ([], []))
        pairs = [(epoch_of[s], v) for s, v in zip(steps, values, strict=True) if s in epoch_of]
        out.setdefault(r.label, []).append(
            Curve([e for e, _ in pairs], [v for _, v in pairs]))
    return out
