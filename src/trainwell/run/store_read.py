"""Reading the results store: its experiments, its runs as :class:`RunRow` records, and their
metrics. A store opened ``readonly`` answers every query.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from trainwell.errors import TrainwellError
from trainwell.plan import RunSpec
from trainwell.run.store_schema import StoreDatabase

__all__ = ["RunRow", "StoreReader"]


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


class StoreReader(StoreDatabase):
    """The queries of a results store; :class:`~trainwell.run.store.Store` adds the writes."""

    def check_experiment(self, name: str) -> None:
        """Raise :class:`TrainwellError` when the store holds experiments but not ``name``: a
        copied or renamed experiment folder, whose runs are recorded under its old name."""
        held = self.experiments()
        if held and name not in held:
            raise TrainwellError(
                f"{str(self.path)!r} holds the experiment {', '.join(map(repr, held))}, not "
                f"{name!r} (a copied or renamed folder?): continue it with --name {held[-1]}, "
                "or give the new experiment a folder of its own")

    # experiments -------------------------------------------------------------------------
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
