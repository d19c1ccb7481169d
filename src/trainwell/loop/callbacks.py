"""Small callbacks every run can use."""

from __future__ import annotations

from trainwell.callback_order import ORDER
from trainwell.loop.events import Callback, StopTraining, TrainState
from trainwell.loop.metrics import TRAIN_ACC, TRAIN_LOSS, VAL_ACC
from trainwell.loop.progress import Progress, shown

__all__ = ["ProgressBar", "MaxSteps"]


class MaxSteps(Callback):
    """End training after ``steps`` optimizer steps, in the middle of an epoch if need be
    (``train.max_steps``): the run is ``done``, its final metrics are the model's at that step,
    and an epoch it ends in the middle of is not recorded as an epoch (its step losses are).

    >>> import torch
    >>> from trainwell.data import load_dataset
    >>> from trainwell.loop import fit
    >>> ds = load_dataset("digits")
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    >>> h = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=64,
    ...         callbacks=[MaxSteps(30)], generator=torch.Generator().manual_seed(0))
    >>> h.status, len(h.step_loss), len(h.epochs), h.stop_reason
    ('done', 30, 1, 'max_steps: 30 steps')
    """

    order = ORDER["max_steps"]

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def after_step(self, state: TrainState) -> None:
        done = state.step + 1
        if done >= self.steps and done % state.steps_per_epoch:  # an epoch's end: after_epoch
            raise StopTraining(f"max_steps: {self.steps} steps")

    def after_epoch(self, state: TrainState) -> None:
        if (state.epoch + 1) * state.steps_per_epoch >= self.steps:
            raise StopTraining(f"max_steps: {self.steps} steps")


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
