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

__all__ = ["DB_NAME", "TABLES", "check_file", "check_store", "store_error", "read_only_error", "writable"]

DB_NAME = "results.db"

TABLES = ("experiments", "runs", "metrics")


def check_file(path: Path) -> None:
    """Raise :class:`TrainwellError` when the file at ``path`` is not a whole SQLite database by
    its header (empty, another kind of file, or shorter than the pages the header counts),
    before SQLite opens it and makes its journal beside it."""
    with open(path, "rb") as f:
        header = f.read(100)
    size = path.stat().st_size
    if not header:
        raise store_error(path, sqlite3.DatabaseError("the file is empty"))
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise store_error(path, sqlite3.DatabaseError("the file is not a database"))
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(header[28:32], "big")
    counted = header[24:28] == header[92:96]  # the page count is valid for this version
    live = path.with_name(path.name + "-wal").exists()  # a writer may be checkpointing
    if counted and pages and size < page * pages and not live:
        raise store_error(path, sqlite3.DatabaseError(
            f"the file is truncated: {size} bytes of {page * pages}"))


def check_store(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`TrainwellError` when the database behind ``conn`` is not a whole results
    store: damaged (SQLite's quick check) or without its tables. Reads only."""
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        found = " ".join(" ".join(problems).replace("*** in database main ***", "").split())
        raise store_error(path, sqlite3.DatabaseError(f"it is malformed: {found}"))
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
