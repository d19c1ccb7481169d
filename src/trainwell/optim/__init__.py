"""Optimizers and learning-rate schedules by name, hand-written reference rules, 2-D surfaces.

The playground that races optimizers on the surfaces is :mod:`trainwell.optim.playground`
(imported on demand: it needs matplotlib).
"""

from trainwell.optim import rules
from trainwell.optim.lr_find import LRFind, lr_find
from trainwell.optim.optimizers import (
    DESCRIPTIONS,
    OPTIMIZERS,
    STEP_OPTIONS,
    adagrad,
    adam,
    adamw,
    lbfgs,
    momentum,
    needs_closure,
    nesterov,
    optimizer_options,
    rmsprop,
    sgd,
)
from trainwell.optim.schedules import DESCRIPTIONS as SCHEDULE_DESCRIPTIONS
from trainwell.optim.schedules import (
    SCHEDULES,
    LRSchedule,
    Schedule,
    make_schedule,
    schedule_options,
)
from trainwell.optim.surfaces import SURFACES, Surface

__all__ = ["OPTIMIZERS", "DESCRIPTIONS", "STEP_OPTIONS", "optimizer_options", "build_optimizer",
           "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs",
           "needs_closure", "SCHEDULES", "SCHEDULE_DESCRIPTIONS", "Schedule", "make_schedule",
           "schedule_options", "LRSchedule", "SURFACES", "Surface", "rules", "lr_find", "LRFind"]


def build_optimizer(name: str, params, **options):
    """The optimizer ``name`` over ``params`` with recipe ``options`` (validated).

    >>> import torch
    >>> build_optimizer("adam", torch.nn.Linear(2, 1).parameters(), lr=0.01).defaults["lr"]
    0.01
    """
    from trainwell.names import get
    from trainwell.params import validate_params

    fn = get(OPTIMIZERS, name, key="optim.name")
    return fn(params, **validate_params(fn, options, key="optim"))
