"""The results store's database: its tables, how it is made and opened, and its transaction.

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

A new store appears whole (its schema is written beside it and linked into place); an older
one opened for writing gains the columns added since. WAL mode, a busy timeout and one short
``BEGIN IMMEDIATE`` transaction per write let several processes share a store. Opened
``readonly``, it is read without locking or creating anything.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from trainwell.errors import TrainwellError
from trainwell.run.store_check import (
    check_file,
    check_store,
    read_only_error,
    store_error,
    writable,
)

__all__ = ["StoreDatabase"]

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


class StoreDatabase:
    """The open database at ``path``, created (with its folder) when opened for writing.

    Checked before use (:mod:`trainwell.run.store_check`); a store that cannot be used raises
    :class:`TrainwellError` and leaves the folder as it was. :class:`~trainwell.run.store.Store`
    adds the reading and writing methods.
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
