"""trainwell: train deep networks well.

Initializers from zeros to LSUV, the lecture's optimizers, and recipes compared side by
side on built-in data, with the evidence of which one trains and why the others fail.

Names are loaded on first use, so ``import trainwell.data`` (say) loads no more than it needs.

>>> import trainwell as tw
>>> tw.Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}}).optim.name
'sgd'
"""

from __future__ import annotations

import importlib
from typing import Any

from trainwell.errors import ConfigError, TrainwellError

__version__ = "0.1.0"

__all__ = ["ConfigError", "TrainwellError", "Recipe", "load_recipe", "execute", "RunOutcome",
           "__version__"]

_LAZY = {"Recipe": "trainwell.recipe", "load_recipe": "trainwell.recipe",
         "execute": "trainwell.execute", "RunOutcome": "trainwell.execute"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trainwell' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
