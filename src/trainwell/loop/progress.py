"""A progress bar on stderr, or in a Jupyter cell: a description, done/total, a status text and
the time left."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgress

from trainwell._live import CellLive, in_notebook

__all__ = ["Progress", "shown"]


def shown(enabled: bool | None) -> bool:
    """Whether a bar draws: ``enabled``, or when it is ``None``, whether stderr is a terminal or
    a Jupyter cell."""
    return (sys.stderr.isatty() or in_notebook()) if enabled is None else bool(enabled)


class Progress:
    """A transient rich progress bar over ``total`` steps, drawn on stderr.

    Silent when stderr is neither a terminal nor a Jupyter cell (``enabled=None``); ``enabled``
    forces either way. In a notebook the bar is redrawn in the cell (:mod:`trainwell._live`)
    and its last state stays there.
    A silent bar accepts every call and draws nothing. :meth:`start` and :meth:`stop` may
    be called directly, or the bar used as a context manager; the bar vanishes when stopped.

    >>> with Progress("rbm", total=3, enabled=False) as bar:
    ...     for epoch in range(3):
    ...         bar.update(completed=epoch + 1, status=f"recon {0.5 / (epoch + 1):.3f}")
    >>> bar.completed
    3
    """

    def __init__(self, description: str, *, total: int, enabled: bool | None = None) -> None:
        self.description, self.total, self.completed = description, total, 0
        self.enabled = shown(enabled)
        self._rich: _RichProgress | None = None
        self._cell: CellLive | None = None
        self._task = TaskID(0)

    def start(self) -> Self:
        """Show the bar (once); returns the bar."""
        if self.enabled and self._rich is None:
            console = Console(stderr=True)
            self._rich = _RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                console=console, transient=True)
            self._task = self._rich.add_task(self.description, total=self.total,
                                             completed=self.completed, status="")
            if console.is_jupyter:
                self._cell = CellLive(self._rich, width=console.width)
                self._cell.start()
            else:
                self._rich.start()
        return self

    def update(self, *, completed: int | None = None, advance: int = 0,
               status: str | None = None) -> None:
        """Set the steps done to ``completed``, or add ``advance`` to them; show ``status``."""
        self.completed = (self.completed if completed is None else completed) + advance
        if self._rich is not None and status is None:
            self._rich.update(self._task, completed=self.completed)
        elif self._rich is not None:
            self._rich.update(self._task, completed=self.completed, status=status)
        if self._cell is not None:
            self._cell.refresh()

    def stop(self) -> None:
        """Remove the bar; a stopped bar may be started again."""
        if self._cell is not None:
            self._cell.stop()
            self._cell = None
        elif self._rich is not None:
            self._rich.stop()
        self._rich = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
