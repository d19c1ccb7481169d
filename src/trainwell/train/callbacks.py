"""Small callbacks every run can use."""

from __future__ import annotations

import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trainwell.train.events import Callback, TrainState

__all__ = ["ProgressBar"]


class ProgressBar(Callback):
    """A rich progress bar per run: epoch, last loss and accuracy, time left.

    Silent when stderr is not a terminal (pass ``enabled`` to force either way).
    """

    order = 100

    def __init__(self, *, description: str = "train", enabled: bool | None = None) -> None:
        self.description = description
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task = None

    def before_fit(self, state: TrainState) -> None:
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=state.epochs, metrics="")

    def after_epoch(self, state: TrainState) -> None:
        if self._progress is None:
            return
        last = state.history.epochs[-1]
        metrics = f"loss {last['train_loss']:.4f} acc {last['train_acc']:.3f}"
        if last.get("val_acc") is not None:
            metrics += f" val {last['val_acc']:.3f}"
        self._progress.update(self._task, completed=state.epoch + 1, metrics=metrics)

    def after_fit(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
