"""Optimizers by name."""

from trainwell.optim.optimizers import (
    DESCRIPTIONS,
    OPTIMIZERS,
    adagrad,
    adam,
    adamw,
    momentum,
    nesterov,
    rmsprop,
    sgd,
)

__all__ = ["OPTIMIZERS", "DESCRIPTIONS", "build_optimizer", "sgd", "momentum", "nesterov",
           "adagrad", "rmsprop", "adam", "adamw"]


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
