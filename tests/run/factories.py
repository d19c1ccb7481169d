"""Model factories for runner tests (``"factories:<name>"`` in a recipe, with this folder on the
path): each build is logged, and some factories fail or kill their own process on purpose."""

import math
import os
import signal
from pathlib import Path

import torch


def _log(log: str, tag: str) -> None:
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{tag} {os.getpid()}\n")


def _net(input_shape, num_classes):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(math.prod(input_shape), 16),
                               torch.nn.ReLU(), torch.nn.Linear(16, num_classes))


def counted(input_shape, num_classes, *, log: str = "", tag: int = 0):
    """A small ReLU net; appends ``tag pid`` to ``log`` at every build."""
    _log(log, str(tag))
    return _net(input_shape, num_classes)


def raising(input_shape, num_classes, *, tag: int = 0):
    raise RuntimeError("the factory exploded")


def dies_once(input_shape, num_classes, *, marker: str, log: str = "", tag: int = 0):
    """SIGKILLs its own process the first time it builds for ``tag``, builds fine after."""
    first = Path(f"{marker}-{tag}")
    if not first.exists():
        first.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return counted(input_shape, num_classes, log=log, tag=tag)


def dies_always(input_shape, num_classes, *, log: str = ""):
    _log(log, "dies")
    os.kill(os.getpid(), signal.SIGKILL)
