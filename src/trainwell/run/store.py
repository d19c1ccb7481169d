"""The results store: one SQLite database per experiment folder, written by one driver at a time.

Tables::

    experiments(name, created, axes, fixed, note, grid)   axes: the varying recipe keys;
                                                            fixed: the recipe part they share;
                                                            grid: ids of the current grid's runs
    runs(id, experiment, label, point, seed, recipe, status, error, attempts,
         started, finished, seconds, final, diverged_step, stop_reason, verdicts,
         owner, heartbeat, device, worker)
    metrics(run, step, name, value)                       per-step "loss" (and "step_lr"
                                                            under a schedule); per-epoch
                                                            train/val/test loss and acc, lr;
                                                            "grad_norm/<layer>" and
                                                            "act_std/<layer>" every few steps

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
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from trainwell.diagnose.recorder import flow_rows
from trainwell.errors import TrainwellError
from trainwell.loop.history import History
from trainwell.plan import RunSpec
from trainwell.run.store_check import (
    DB_NAME,
    check_file,
    check_store,
    read_only_error,
    store_error,
    writable,
)

__all__ = ["Store", "RunRow", "RunSpec", "FINISHED", "DB_NAME", "open_store", "metric_rows"]

FINISHED = ("done", "diverged", "failed")
BUSY_TIMEOUT_S = 60.0

_ADDED_COLUMNS = {"owner": "TEXT", "heartbeat": "REAL", "device": "TEXT", "worker": "TEXT",
                  "data": "TEXT"}
"""Columns newer than the first schema: added to an older store when it is opened for writing."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY, created REAL NOT NULL, axes TEXT NOT NULL, fixed TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '', grid TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, label TEXT NOT NULL, point TEXT NOT NULL,
    seed INTEGER NOT NULL, recipe TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    error TEXT, attempts INTEGER NOT NULL DEFAULT 0, started REAL, finished REAL,
    seconds REAL, final TEXT, diverged_step INTEGER, stop_reason TEXT,
    verdicts TEXT, owner TEXT, heartbeat REAL, device TEXT, worker TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs (experiment);
CREATE TABLE IF NOT EXISTS metrics (
    run TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run, name, step)) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class RunRow(RunSpec):
    """A run as stored: its spec and what became of it."""

    status: str
    error: str | None
    attempts: int
    started: float | None
    finished: float | None
    seconds: float | None
    final: dict[str, Any]
    diverged_step: int | None
    stop_reason: str | None
    verdicts: list[dict[str, str]] | None
    owner: str | None = None
    heartbeat: float | None = None
    device: str | None = None
    worker: str | None = None
    data: dict[str, Any] | None = None
    """What the run trained on (:meth:`~trainwell.data.DatasetMeta.record`): its number of
    classes and their names; ``None`` in stores written before it was kept."""

    @classmethod
    def _from_sql(cls, row: sqlite3.Row) -> RunRow:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in dict(row).items() if k in known}  # older stores have more columns
        for key in ("point", "recipe", "final", "verdicts", "data"):
            if key in d:
                d[key] = json.loads(d[key]) if d[key] is not None else None
        d["final"] = d["final"] or {}
        return cls(**d)


def open_store(folder: str | Path, *, readonly: bool = True) -> Store:
    """The store of an experiment folder; :class:`TrainwellError` when it has none.

    ``readonly`` (the default) opens it without a write lock and without creating anything.
    """
    path = Path(folder) / DB_NAME
    if not path.is_file():
        raise TrainwellError(f"no results in {str(folder)!r}: {DB_NAME} not found there "
                             "(run `trainwell compare` into this folder first)")
    return Store(path, readonly=readonly)


class Store:
    """Open the results database at ``path``, creating it (and its folder) for writing.

    One ``Store`` per process; each method is one short transaction. With ``readonly``, the
    database must exist and every writing method fails.

    >>> store = Store("runs/demo/results.db")  # doctest: +SKIP
    >>> [r.status for r in store.runs("demo")]  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if not readonly and not writable(self.path):
            raise read_only_error(self.path)
        if not readonly and str(path) != ":memory:" and not self.path.is_file():
            self._create_file()
        existed = self.path.is_file()
        if existed:
            check_file(self.path)
        journal = [self.path.with_name(self.path.name + s) for s in ("-wal", "-shm")]
        fresh = [p for p in journal if not p.exists()]
        try:
            self._conn = self._connect()
            if existed:
                check_store(self._conn, self.path)
            if not readonly:
                self._create()
        except (sqlite3.DatabaseError, TrainwellError) as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            for p in fresh:  # the journal opening it made: the folder is left as it was
                p.unlink(missing_ok=True)
            if isinstance(exc, TrainwellError):
                raise
            raise store_error(self.path, exc) from None

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            # A read-only folder cannot hold the -shm file a WAL reader makes: read the file as
            # it is (no writer can be at work there).
            frozen = "" if os.access(self.path.parent, os.W_OK) else "&immutable=1"
            uri = f"{self.path.resolve().as_uri()}?mode=ro{frozen}"
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return conn

    def _create_file(self) -> None:
        """Make a new store whole before any other process can open it: its schema goes into a
        file beside it, which is then linked into place (the first of several processes that
        start at once wins; the others open its store)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        conn = sqlite3.connect(new, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
        finally:
            conn.close()
        try:
            os.link(new, self.path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not self.path.exists():
                os.replace(new, self.path)
        finally:
            for leftover in (new, new.with_name(new.name + "-wal"), new.with_name(new.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _create(self) -> None:
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self._tx() as c:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                c.execute(statement)
            have = {r[1] for r in c.execute("PRAGMA table_info(runs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    c.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")

    def check_experiment(self, name: str) -> None:
        """Raise :class:`TrainwellError` when the store holds experiments but not ``name``: a
        copied or renamed experiment folder, whose runs are recorded under its old name."""
        held = self.experiments()
        if held and name not in held:
            raise TrainwellError(
                f"{str(self.path)!r} holds the experiment {', '.join(map(repr, held))}, not "
                f"{name!r} (a copied or renamed folder?): continue it with --name {held[-1]}, "
                "or give the new experiment a folder of its own")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def experiment(self, name: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT * FROM experiments WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["axes"], d["fixed"], d["grid"] = (json.loads(d[k]) for k in ("axes", "fixed", "grid"))
        return d

    def experiments(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM experiments ORDER BY created")]

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

    def runs(self, experiment: str | None = None, *, status: str | Sequence[str] | None = None,
             ids: Sequence[str] | None = None, all_runs: bool = False) -> list[RunRow]:
        """Stored runs, in the order they were registered.

        With ``experiment``, only the runs of its current grid, unless ``all_runs`` (runs of
        earlier, different grids stay stored under the experiment).
        """
        if experiment is not None and ids is None and not all_runs:
            exp = self.experiment(experiment)
            ids = exp["grid"] if exp is not None else None
        if ids is not None and not ids:
            return []
        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if experiment is not None:
            sql += " AND experiment=?"
            args.append(experiment)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({','.join('?' * len(wanted))})"
            args += wanted
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            args += list(ids)
        return [RunRow._from_sql(r) for r in self._conn.execute(sql + " ORDER BY rowid", args)]

    def metrics(self, run_ids: Sequence[str] | None = None,
                names: Sequence[str] | None = None) -> list[tuple[str, int, str, float | None]]:
        """``(run, step, name, value)`` rows, ordered by run, name and step."""
        sql, args = "SELECT run, step, name, value FROM metrics WHERE 1=1", []
        if run_ids is not None:
            sql += f" AND run IN ({','.join('?' * len(run_ids))})"
            args += list(run_ids)
        if names is not None:
            sql += f" AND name IN ({','.join('?' * len(names))})"
            args += list(names)
        return [tuple(r) for r in self._conn.execute(sql + " ORDER BY run, name, step", args)]


def metric_rows(run_id: str, history: History) -> list[tuple[str, int, str, float | None]]:
    """The ``(run, step, name, value)`` rows the store keeps of a run's ``history``
    (:meth:`History.metric_rows`, with its gradient flow's rows)."""
    layers = flow_rows(history.gradient_flow)
    return [(run_id, step, name, value)
            for step, name, value in history.metric_rows(layer_rows=layers)]
