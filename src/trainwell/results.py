"""Query an experiment's results from a notebook: runs, filtered by axis values, and metrics.

>>> res = open_results("runs/init")                      # doctest: +SKIP
>>> [r["test_acc"] for r in res.runs(where={"init.name": "he_normal"})]  # doctest: +SKIP
>>> res.metrics_frame(names=["loss"])  # with pandas      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainwell.errors import TrainwellError
from trainwell.run.store import RunRow, Store, open_store
from trainwell.sweep import format_value

__all__ = ["Results", "open_results", "run_value", "matches", "MISSING"]


def open_results(folder: str | Path) -> Results:
    """The results of the experiment folder ``folder`` (it must hold ``results.db``), opened
    read-only: reading takes no lock and creates nothing."""
    return Results(open_store(folder, readonly=True))


MISSING = object()
"""What :func:`run_value` returns for a key a run does not have."""


def run_value(run: RunRow, key: str) -> Any:
    """A run's axis value at ``key``, or else its resolved recipe's value at the dotted path
    ``key`` (:data:`MISSING` when it has none)."""
    if key in run.point:
        return run.point[key]
    node: Any = run.recipe
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def matches(run: RunRow, where: Mapping[str, Any]) -> bool:
    """Whether ``run`` has each ``key``'s value in ``where`` (equal, or shown the same)."""
    for key, wanted in where.items():
        value = run_value(run, key)
        if value is MISSING:
            return False
        if value != wanted and format_value(value) != format_value(wanted):
            return False
    return True


class Results:
    """Read-only views of a results store: plain rows, or pandas DataFrames."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def experiments(self) -> list[str]:
        return self.store.experiments()

    def runs(self, experiment: str | None = None, *, status: str | Sequence[str] | None = None,
             where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One dict per run: id, label, seed, status, timings, its axis values and final
        metrics. ``where`` keeps runs whose axis value or resolved recipe value at each
        ``key.path`` equals the given value (``{"init.name": "zeros"}``)."""
        names = [experiment] if experiment is not None else self.experiments()
        rows = []
        for name in names:
            for run in self.store.runs(name, status=status):
                if where and not matches(run, where):
                    continue
                rows.append({"id": run.id, "experiment": run.experiment, "label": run.label,
                             "seed": run.seed, "status": run.status, "error": run.error,
                             "attempts": run.attempts, "seconds": run.seconds,
                             "diverged_step": run.diverged_step,
                             **{k: format_value(v) for k, v in run.point.items()},
                             **run.final})
        return rows

    def metrics(self, runs: Sequence[str] | None = None,
                names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """``{run, step, name, value}`` rows: ``loss`` per step, epoch metrics at epoch ends."""
        return [{"run": r, "step": s, "name": n, "value": v}
                for r, s, n, v in self.store.metrics(runs, names)]

    def runs_frame(self, experiment: str | None = None, **kw: Any):
        """:meth:`runs` as a pandas DataFrame."""
        return _pandas().DataFrame(self.runs(experiment, **kw))

    def metrics_frame(self, runs: Sequence[str] | None = None,
                      names: Sequence[str] | None = None):
        """:meth:`metrics` as a pandas DataFrame (columns run, step, name, value)."""
        return _pandas().DataFrame(self.metrics(runs, names), columns=["run", "step", "name", "value"])

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pandas():
    try:
        import pandas
    except ImportError:
        raise TrainwellError("pandas is not installed: pip install 'trainwell[pandas]', or use "
                             "runs() and metrics(), which return plain rows") from None
    return pandas
