"""Snapshot ensembles: M models from one run along a cyclic cosine learning rate.

Huang et al., "Snapshot Ensembles: Train 1, get M for free", 2017: the lr follows ``M`` cosine
cycles (:func:`trainwell.optim.schedules.cyclic_cosine`, per optimizer step); at the end of
each cycle the model sits in a minimum and its weights are saved; the restart to the full lr
then sends it to another one. The ensemble predicts with the mean softmax of the last ``m``
snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError
from trainwell.optim.schedules import LRSchedule, cycle_length

if TYPE_CHECKING:
    from trainwell.loop.events import TrainState

__all__ = ["Snapshots", "snapshot_steps", "check_cycles", "last", "SNAPSHOT_OPTIONS"]

SNAPSHOT_OPTIONS = {
    "snapshots": "M >= 2 cosine cycles of the lr per step, a snapshot at each cycle's end; the "
                 "run predicts with their mean softmax (Huang et al. 2017)",
    "use_last": "ensemble only the last m snapshots (default: all M)",
}
"""The ``[ensemble]`` options with one line each."""


def snapshot_steps(total: int, cycles: int) -> list[int]:
    """The optimizer steps (counted from 0) after which a snapshot is taken: the last step of
    every cycle of ``ceil(total / cycles)`` steps, and the run's last step.

    >>> snapshot_steps(10, 5), snapshot_steps(10, 3)
    ([1, 3, 5, 7, 9], [3, 7, 9])
    """
    length = cycle_length(total, cycles)
    return sorted({*range(length - 1, total, length), total - 1})


def check_cycles(total: int, cycles: int) -> None:
    """Raise :class:`ConfigError` unless a run of ``total`` steps holds ``cycles`` cycles of
    ``ceil(total / cycles)`` steps (a divisor of the epochs always does).

    >>> check_cycles(100, 5)
    >>> check_cycles(5, 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: ensemble.snapshots = 4: expected a number of cycles ... make 3 cycles; ...
    """
    made = len(snapshot_steps(total, cycles))
    if made != cycles:
        raise ConfigError("ensemble.snapshots", cycles,
                          f"a number of cycles that the run's {total} optimizer steps (epochs x "
                          f"steps per epoch) hold: cycles of ceil({total}/{cycles}) = "
                          f"{cycle_length(total, cycles)} steps make {made} cycles; a divisor "
                          "of train.epochs always fits")


class Snapshots:
    """A trainer callback that runs the cyclic cosine schedule and keeps a copy of the
    weights (on the CPU) at the end of every cycle: ``weights[k]`` is snapshot ``k + 1``.
    ``state_dict()``/``load_state_dict()`` carry the snapshots taken so far, for a checkpoint.

    >>> cb = Snapshots(5)
    >>> cb.cycles, cb.weights
    (5, [])
    """

    order = ORDER["snapshots"]

    def __init__(self, cycles: int) -> None:
        if cycles < 2:
            raise ConfigError("ensemble.snapshots", cycles, "an integer >= 2 (an ensemble)")
        self.cycles = cycles
        self.schedule = LRSchedule("cyclic_cosine", per="step", cycles=cycles)
        self.weights: list[dict[str, torch.Tensor]] = []
        self.steps: list[int] = []
        self._at: set[int] = set()

    def before_fit(self, state: TrainState) -> None:
        total = state.epochs * state.steps_per_epoch
        check_cycles(total, self.cycles)
        self._at = set(snapshot_steps(total, self.cycles))
        self.weights, self.steps = [], []
        self.schedule.before_fit(state)
        self._record(state)

    def before_step(self, state: TrainState) -> None:
        self.schedule.before_step(state)

    def state_dict(self) -> dict[str, Any]:
        return {"weights": list(self.weights), "steps": list(self.steps)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = [dict(w) for w in state["weights"]]
        self.steps = [int(s) for s in state["steps"]]

    def after_step(self, state: TrainState) -> None:
        self.schedule.after_step(state)
        if state.step in self._at:
            self.weights.append({k: v.detach().to("cpu", copy=True)
                                 for k, v in state.model.state_dict().items()})
            self.steps.append(state.step)
            self._record(state)

    def _record(self, state: TrainState) -> None:
        """``history.snapshots``: the cycles, their length and the steps snapshotted so far."""
        total = state.epochs * state.steps_per_epoch
        state.history.snapshots = {"cycles": self.cycles, "steps": list(self.steps),
                                   "cycle_steps": cycle_length(total, self.cycles)}


def last(members: list[dict[str, torch.Tensor]], use_last: int | None) -> list[dict[str, torch.Tensor]]:
    """The last ``use_last`` members (all of them for ``None``)."""
    return members if use_last is None else members[-min(use_last, len(members)):]


