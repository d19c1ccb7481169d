"""The trainer's declared events and the callback protocol.

A callback implements only the events it needs, each ``def event(self, state) -> None``;
``order`` sets who runs first (lower first). Raising :class:`StopTraining` ends the run
cleanly with the given status and reason.

Two events let a callback change the step itself:

- ``before_step``: replace ``state.xb``/``state.yb`` (augmentation); the loop trains on
  whatever they hold afterwards;
- ``after_loss``: add a term to ``state.loss`` (an L1/L2 penalty) before the backward pass;
  ``state.data_loss`` keeps the data term, which is what the history records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch

if TYPE_CHECKING:
    from trainwell.data.dataset import Dataset
    from trainwell.loop.history import History

__all__ = ["EVENTS", "Callback", "StopTraining", "TrainState", "Dispatcher"]

EVENTS = ("before_fit", "before_epoch", "before_step", "after_loss", "after_backward",
          "after_step", "after_epoch", "after_fit")


class StopTraining(Exception):
    """Raised by a callback to end training; ``status`` is recorded in the History."""

    def __init__(self, reason: str, *, status: str = "done") -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


class Callback(Protocol):
    """Base class for trainer callbacks; override any of :data:`EVENTS`.

    A protocol: an object with an ``order`` and the events it needs is a callback without
    subclassing this (so layers below ``train``, like :class:`~trainwell.optim.LRSchedule`,
    need not import it). A callback that leaves files in the run's folder has an
    ``artifacts()`` method: name -> tensors, each written as ``<name>.safetensors`` when the
    run is done (:class:`~trainwell.run_folder.RunFolder`).
    """

    order: int = 0


@dataclass
class TrainState:
    """What the loop exposes to callbacks: read anything, change with care.

    ``step`` counts optimizer steps from 0; ``loss`` is the current minibatch loss tensor
    (on the device, not synchronized), which ``after_loss`` callbacks may add to, and
    ``data_loss`` its data term; ``xb``/``yb`` the current minibatch, which ``before_step``
    callbacks may replace.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    dataset: Dataset
    history: History
    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    xb: torch.Tensor | None = None
    yb: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    data_loss: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Dispatcher:
    """Calls each event on the callbacks that implement it, in ``order`` (``callbacks``: all
    of them in that order).

    Events nobody implements cost one empty-tuple loop per call.
    """

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        ordered = sorted(callbacks, key=lambda cb: getattr(cb, "order", 0))
        self.callbacks: tuple[Callback, ...] = tuple(ordered)
        self._handlers: dict[str, Sequence] = {
            event: tuple(getattr(cb, event) for cb in ordered if hasattr(cb, event))
            for event in EVENTS
        }

    def __call__(self, event: str, state: TrainState) -> None:
        for handler in self._handlers[event]:
            handler(state)

    def wants(self, event: str) -> bool:
        return bool(self._handlers[event])
