"""Deprecated: the training loop is :mod:`trainwell.loop`; this path goes in 0.3.

``from trainwell.train import fit`` and ``trainwell.train.trainer`` keep working, with a
:class:`DeprecationWarning`. ``trainwell.train`` itself is the call :func:`trainwell.api.train`.
"""

import importlib
import sys
import warnings

from trainwell.loop import *  # noqa: F403
from trainwell.loop import __all__  # noqa: F401

warnings.warn("the package trainwell.train is now trainwell.loop; import from trainwell.loop "
              "(trainwell.train goes in 0.3)", DeprecationWarning, stacklevel=2)

for _name in ("callbacks", "capture", "checkpoint", "device", "events", "history", "progress",
              "resume", "stateful", "tensorboard", "trainer"):
    sys.modules[f"{__name__}.{_name}"] = importlib.import_module(f"trainwell.loop.{_name}")
