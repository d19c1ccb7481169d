"""The results store: one SQLite database per experiment folder, written by one driver at a time.

:class:`Store` is the whole store: its database (:mod:`~trainwell.run.store_schema`: tables,
making and opening it), its queries (:mod:`~trainwell.run.store_read`) and, here, its writes
and the ownership of runs.

Ownership: a driver claims a run (``owner`` = ``host:pid:start``, ``heartbeat`` = now) and
beats for the runs it holds; another driver takes only runs nobody holds, or whose owner
stopped beating (``stale_before``) or is a dead process on this host. ``device`` and
``worker`` record where a run trained.

WAL mode, a busy timeout and one short transaction per write let several drivers share a
store without losing a row. A run is written whole (status, metrics) in one transaction, so a
driver killed mid-run leaves it ``running`` — and a rerun picks it up again — never
half-recorded. :func:`open_store` with ``readonly=True`` reads without locking or creating.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trainwell.diagnose.recorder import flow_rows
from trainwell.errors import TrainwellError
from trainwell.loop.history import History
from trainwell.plan import RunSpec
from trainwell.run.store_check import DB_NAME
from trainwell.run.store_read import RunRow, StoreReader

__all__ = ["Store", "RunRow", "RunSpec", "FINISHED", "DB_NAME", "open_store", "metric_rows"]

FINISHED = ("done", "diverged", "failed")


def open_store(folder: str | Path, *, readonly: bool = True) -> Store:
    """The store of an experiment folder; :class:`TrainwellError` when it has none.

    ``readonly`` (the default) opens it without a write lock and without creating anything.
    """
    path = Path(folder) / DB_NAME
    if not path.is_file():
        raise TrainwellError(f"no results in {str(folder)!r}: {DB_NAME} not found there "
                             "(run `trainwell compare` into this folder first)")
    return Store(path, readonly=readonly)


class Store(StoreReader):
    """Open the results database at ``path``, creating it (and its folder) for writing.

    One ``Store`` per process; each method is one short transaction. With ``readonly``, the
    database must exist and every writing method fails.

    >>> store = Store("runs/demo/results.db")  # doctest: +SKIP
    >>> [r.status for r in store.runs("demo")]  # doctest: +SKIP
    """

    # experiments -------------------------------------------------------------------------
    def put_experiment(self, name: str, *, axes: Sequence[str], fixed: dict[str, Any],
                       note: str = "", grid: Sequence[str] | None = None) -> None:
        """Create or update an experiment's description: its axes, fixed recipe part and the
        ids of the runs in its current grid (``None``: every run registered under it)."""
        with self._tx() as c:
            c.execute("INSERT INTO experiments (name, created, axes, fixed, note, grid) "
                      "VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET axes=excluded.axes, "
                      "fixed=excluded.fixed, note=excluded.note, grid=excluded.grid",
                      (name, time.time(), json.dumps(list(axes)), json.dumps(fixed), note,
                       json.dumps(list(grid) if grid is not None else None)))

    # runs --------------------------------------------------------------------------------
    def add_runs(self, specs: Iterable[RunSpec]) -> int:
        """Register runs as ``pending``; runs already known keep their state. Returns new count."""
        rows = [(s.id, s.experiment, s.label, json.dumps(s.point), s.seed, json.dumps(s.recipe))
                for s in specs]
        with self._tx() as c:
            before = c.total_changes
            c.executemany("INSERT OR IGNORE INTO runs (id, experiment, label, point, seed, recipe) "
                          "VALUES (?,?,?,?,?,?)", rows)
            return c.total_changes - before

    def claim(self, run_id: str, owner: str | None = None, *, stale_before: float | None = None,
              dead_owners: Sequence[str] = ()) -> bool:
        """Mark a run ``running`` for ``owner`` (one more attempt) unless it has finished or
        another owner holds it: one whose heartbeat is not older than ``stale_before`` and who
        is not among ``dead_owners``. Returns whether this call took it."""
        marks = ",".join("?" * len(FINISHED))
        dead = ",".join("?" * len(dead_owners)) or "NULL"
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                f"UPDATE runs SET status='running', attempts=attempts+1, started=?, owner=?, "
                f"heartbeat=? WHERE id=? AND status NOT IN ({marks}) AND (owner IS NULL "
                f"OR owner=? OR status != 'running' OR heartbeat < ? OR owner IN ({dead}))",
                (now, owner, now, run_id, *FINISHED, owner,
                 stale_before if stale_before is not None else -math.inf, *dead_owners))
            return cur.rowcount == 1

    def beat(self, owner: str) -> int:
        """Refresh the heartbeat of every run ``owner`` holds; returns how many it holds."""
        with self._tx() as c:
            return c.execute("UPDATE runs SET heartbeat=? WHERE owner=? AND status='running'",
                             (time.time(), owner)).rowcount

    def owners(self, experiment: str) -> list[str]:
        """The owners of the experiment's runs that are ``running``."""
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT owner FROM runs WHERE experiment=? AND status='running' AND "
            "owner IS NOT NULL", (experiment,))]

    def set_worker(self, run_id: str, worker: str, device: str | None = None) -> None:
        """Record which worker process (and device) is running a run."""
        with self._tx() as c:
            c.execute("UPDATE runs SET worker=?, device=COALESCE(?, device) WHERE id=?",
                      (worker, device, run_id))

    def set_status(self, run_id: str, status: str, *, error: str | None = None) -> None:
        """Record a status without metrics (``interrupted``, or ``failed`` before training);
        the run is no longer held."""
        with self._tx() as c:
            c.execute("UPDATE runs SET status=?, error=?, finished=?, owner=NULL WHERE id=?",
                      (status, error, time.time(), run_id))

    def release(self, owner: str, status: str, *, error: str | None = None) -> int:
        """Record ``status`` for every run ``owner`` still holds as ``running`` (a driver that
        stops lets go of all its runs, also one claimed a moment before); returns how many."""
        with self._tx() as c:
            return c.execute("UPDATE runs SET status=?, error=?, finished=?, owner=NULL "
                             "WHERE owner=? AND status='running'",
                             (status, error, time.time(), owner)).rowcount

    def finish(self, run_id: str, history: History, *, device: str | None = None,
               worker: str | None = None) -> None:
        """Record a run's outcome and all its metrics in one transaction; releases the run."""
        rows = metric_rows(run_id, history)
        with self._tx() as c:
            c.execute("DELETE FROM metrics WHERE run=?", (run_id,))
            c.executemany("INSERT INTO metrics (run, step, name, value) VALUES (?,?,?,?)", rows)
            c.execute("UPDATE runs SET status=?, error=?, finished=?, seconds=?, final=?, "
                      "diverged_step=?, stop_reason=?, verdicts=?, owner=NULL, "
                      "device=COALESCE(?, device), worker=COALESCE(?, worker), data=? WHERE id=?",
                      (history.status, history.traceback or history.error,
                       time.time(), history.seconds,
                       json.dumps(history.final), history.diverged_step, history.stop_reason,
                       json.dumps(history.verdicts), device, worker,
                       json.dumps(history.data) if history.data else None, run_id))


def metric_rows(run_id: str, history: History) -> list[tuple[str, int, str, float | None]]:
    """The ``(run, step, name, value)`` rows the store keeps of a run's ``history``
    (:meth:`History.metric_rows`, with its gradient flow's rows)."""
    layers = flow_rows(history.gradient_flow)
    return [(run_id, step, name, value)
            for step, name, value in history.metric_rows(layer_rows=layers)]
