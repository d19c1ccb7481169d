"""Small callbacks every run can use."""

from __future__ import annotations

from trainwell.callback_order import ORDER
from trainwell.loop.events import Callback, TrainState
from trainwell.loop.metrics import TRAIN_ACC, TRAIN_LOSS, VAL_ACC
from trainwell.loop.progress import Progress, shown

__all__ = ["ProgressBar"]


class ProgressBar(Callback):
    """A rich progress bar per run: epoch, last loss and accuracy, time left.

    Silent when stderr is not a terminal (pass ``enabled`` to force either way).
    """

    order = ORDER["progress_bar"]

    def __init__(self, *, description: str = "train", enabled: bool | None = None) -> None:
        self.description = description
        self.enabled = shown(enabled)
        self._bar: Progress | None = None

    def before_fit(self, state: TrainState) -> None:
        self._bar = Progress(self.description, total=state.epochs, enabled=self.enabled).start()

    def after_epoch(self, state: TrainState) -> None:
        if self._bar is None:
            return
        last = state.history.epochs[-1]
        metrics = f"loss {last[TRAIN_LOSS]:.4f} acc {100 * last[TRAIN_ACC]:.1f} %"
        if last.get(VAL_ACC) is not None:
            metrics += f" val {100 * last[VAL_ACC]:.1f} %"
        self._bar.update(completed=state.epoch + 1, status=metrics)

    def after_fit(self, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
