"""The live view of a sweep in the terminal, or in a Jupyter cell (:mod:`trainwell._live`): runs
done of the total with an ETA, and what each active run is doing."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trainwell._live import CellLive
from trainwell.run.store import FINISHED, RunSpec, Store

__all__ = ["SweepDisplay"]


class SweepDisplay:
    """Runs done / total with an ETA, and each active run's worker, epoch and loss."""

    def __init__(self, store: Store, todo: list[RunSpec], total: int, *, show: bool,
                 console: Console, every: float = 0.5) -> None:
        self.store, self.total, self.show = store, total, show
        self.labels = {s.id: f"{s.label} · seed {s.seed}" for s in todo}
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console)
        self.task = self.bar.add_task("runs", total=total, completed=total - len(todo))
        self.live: Live | CellLive = (
            CellLive(self.bar, width=console.width) if console.is_jupyter else
            Live(self.bar, console=console, transient=True, refresh_per_second=4,
                 auto_refresh=show, redirect_stderr=False))
        self._last = 0.0
        self.every = every

    def __enter__(self) -> SweepDisplay:
        if self.show:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.show and isinstance(self.live, CellLive):
            self._last = 0.0
            self.refresh({})  # the final count stays in the cell
        if self.show:
            self.live.stop()

    def refresh(self, progress: dict[str, dict[str, Any]]) -> None:
        if not self.show or time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        rows = self.store.runs(ids=list(self.labels))
        done = self.total - len(self.labels) + sum(1 for r in rows if r.status in FINISHED)
        self.bar.update(self.task, completed=done)
        active = Table(show_header=True, header_style="dim", box=None)
        for col in ("run", "worker", "epoch", "loss"):
            active.add_column(col)
        for r in rows:
            if r.status == "running":
                p = progress.get(r.id, {})
                epoch = f"{p['epoch']}/{p['epochs']}" if p else "starting"
                loss = f"{p['loss']:.4f}" if p.get("loss") is not None else "-"
                active.add_row(self.labels[r.id], r.worker or "-", epoch, loss)
        self.live.update(Group(self.bar, active) if active.rows else self.bar)
