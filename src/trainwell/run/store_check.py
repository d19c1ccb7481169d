"""Whether an experiment folder's results store can be used, and what to say when it cannot.

A store that is not a database, is truncated or malformed, or lacks its tables is reported in
one line naming the file, what is wrong and what to do; it is only ever read for the check, so
the damaged file stays as it was. A read-only folder can be read, not written.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from trainwell.errors import TrainwellError

__all__ = ["DB_NAME", "TABLES", "check_store", "store_error", "read_only_error", "writable"]

DB_NAME = "results.db"

TABLES = ("experiments", "runs", "metrics")


def check_store(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`TrainwellError` when the database behind ``conn`` is not a whole results
    store: not a database, damaged (SQLite's quick check), or without its tables. Reads only."""
    if path.stat().st_size == 0:
        raise store_error(path, sqlite3.DatabaseError("the file is empty"))
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise store_error(path, sqlite3.DatabaseError("; ".join(problems)))
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [t for t in TABLES if t not in have]
    if missing:
        raise store_error(path, sqlite3.DatabaseError(f"it has no table {', '.join(missing)}"))


def store_error(path: Path, exc: sqlite3.DatabaseError) -> TrainwellError:
    """The message for a results store that cannot be used, naming the file and what to do."""
    what = str(exc)
    if "readonly" in what or "read-only" in what:
        return read_only_error(path)
    return TrainwellError(f"{str(path)!r} is not a usable results store ({what}); it was left "
                          "as it is: restore it from a copy, or move it away and run the "
                          "experiment again (finished runs are trained again)")


def writable(path: Path) -> bool:
    """Whether a store at ``path`` can be written: the file (if any) and its folder (the
    journal goes beside it); a folder not yet made counts as writable."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return not folder.exists() or os.access(folder, os.W_OK)


def read_only_error(path: Path) -> TrainwellError:
    """The message for a command that would write the store of a read-only folder."""
    return TrainwellError(f"{str(path.parent)!r} is read-only: this command writes {DB_NAME} "
                          "there; its results can still be read (trainwell report, ensemble, "
                          "export), or copy the folder somewhere writable")
