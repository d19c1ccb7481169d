"""When each of trainwell's trainer callbacks runs, in one table: at every event, callbacks run
in ``order``, lower first (:class:`~trainwell.loop.events.Dispatcher`).

The table says who must come before whom, and why:

- ``augment`` first in ``before_step``: it replaces the batch, which the others then see;
- ``unfreeze`` at the start of an epoch, before the schedules set the lr of the groups it
  makes trainable;
- ``schedule`` (and ``snapshots``, whose cyclic schedule stands in for it: never both)
  sets each step's lr; ``average`` after it, so an SWA lr overrides the schedule's;
- ``penalty`` adds to the loss, with user callbacks (order 0 by default);
- ``clip`` bounds the gradients after the backward pass, before anyone reads them;
- ``monitor`` (the live monitor) and ``gradient_flow`` read the gradients of the loss the
  others made;
- ``live``, ``tensorboard`` and ``progress_bar`` report an epoch once the others are done
  with it;
- ``early_stopping`` last, so every other callback has seen the epoch it stops at;
  ``max_steps`` after it too, so every other callback has seen the step it stops at.

>>> ORDER["schedule"] < ORDER["average"] < ORDER["early_stopping"]
True
"""

from __future__ import annotations

__all__ = ["ORDER"]

ORDER: dict[str, int] = {
    "augment": -100,
    "unfreeze": -90,
    "schedule": -50,
    "snapshots": -50,
    "average": -40,
    "penalty": 0,
    "clip": 10,
    "monitor": 45,
    "gradient_flow": 50,
    "live": 90,
    "tensorboard": 95,
    "progress_bar": 100,
    "early_stopping": 150,
    "max_steps": 160,
}
"""The ``order`` of each built-in callback, by its role."""
