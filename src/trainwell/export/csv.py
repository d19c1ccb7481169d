"""Export an experiment to two CSV files: its runs, and their metrics in long format.

``export_csv("runs/init", "out")`` writes

- ``out/runs.csv``: one row per run, the columns of :meth:`trainwell.results.Results.runs`:
  ``id``, ``experiment``, ``label``, ``seed``, ``status``, ``error``, ``attempts``,
  ``seconds``, ``diverged_step``, one column per axis (its value as the report shows it) and
  one per final metric (``train_acc``, ``test_acc``, ...): numbers as stored, so accuracies
  are fractions (0.912), as in :attr:`trainwell.Run.metrics`; the tables show them in percent;
- ``out/metrics.csv``: one row per recorded number, columns ``run``, ``name``, ``step``,
  ``epoch``, ``value``: ``loss`` per optimizer step, each per-epoch metric at the step its
  epoch ended (with the epoch number, 1, 2, ...), gradient flow per layer where recorded.

An empty cell is a missing value (a run without that metric, a value that was not finite).
Each file is written atomically, and both are built before either is written. They read
straight into pandas: ``pandas.read_csv("out/metrics.csv")``.

>>> export_csv("runs/init", "out")  # doctest: +SKIP
[PosixPath('out/runs.csv'), PosixPath('out/metrics.csv')]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trainwell._io import atomic_write_text
from trainwell.export._folders import writable_folder
from trainwell.export.source import ExperimentRuns, experiment_runs, is_step_metric

__all__ = ["export_csv", "runs_table", "metrics_table", "METRICS_COLUMNS"]

METRICS_COLUMNS = ("run", "name", "step", "epoch", "value")


def export_csv(folder: str | Path, out: str | Path, *, experiment: str | None = None) -> list[Path]:
    """Write ``out/runs.csv`` and ``out/metrics.csv`` for ``experiment`` (default: the
    folder's latest) in ``folder``; returns their paths."""
    source = experiment_runs(folder, experiment)
    runs, metrics = runs_table(source), metrics_table(source)
    out = writable_folder(out, option="--to csv")
    return [atomic_write_text(out / "runs.csv", runs),
            atomic_write_text(out / "metrics.csv", metrics)]


def runs_table(source: ExperimentRuns) -> str:
    """The runs as CSV text, one row per run, columns in the order they first appear."""
    columns: dict[str, None] = {}
    for record in source.records:
        columns.update(dict.fromkeys(record))
    return _csv(list(columns), ([record.get(c) for c in columns] for record in source.records))


def metrics_table(source: ExperimentRuns) -> str:
    """The metrics of every run as CSV text in long format (:data:`METRICS_COLUMNS`)."""
    def rows() -> Iterable[list[Any]]:
        for run in source.runs:
            epochs = run.epoch_of()
            for step, name, value in run.rows():
                epoch = None if is_step_metric(name) else epochs.get(step)
                yield [run.id, name, step, epoch, value]
    return _csv(METRICS_COLUMNS, rows())


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """``None`` as an empty cell, floats in full precision (``repr``), the rest as they print."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
