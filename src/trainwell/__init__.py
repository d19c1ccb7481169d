"""trainwell: train deep networks well.

Initializers from zeros to LSUV, the lecture's optimizers, and recipes compared side by
side on built-in data, with the evidence of which one trains and why the others fail.

Names are loaded on first use, so ``import trainwell.data`` (say) loads no more than it needs.

From Python (:mod:`trainwell.api`): ``tw.train`` trains one recipe and returns a :class:`Run`;
``tw.compare`` runs a grid side by side and returns its :class:`Results`, which a notebook shows
as the results table. Overrides are keywords with ``__`` for the dots of a recipe key.

>>> import trainwell as tw
>>> tw.Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}}).optim.name
'sgd'
>>> res = tw.compare(init=["he_normal", "zeros"], data__name="digits")  # doctest: +SKIP
>>> res.table(); res.plot_loss()                                        # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any

from trainwell.errors import ConfigError, TrainwellError

__version__ = "0.1.0"

__all__ = ["train", "compare", "Run", "Results", "open_results", "ConfigError", "TrainwellError",
           "Recipe", "load_recipe", "Sweep", "load_sweep", "execute", "RunOutcome", "__version__"]

_LAZY = {"train": "trainwell.api", "compare": "trainwell.api", "Run": "trainwell.run_result",
         "Results": "trainwell.results", "open_results": "trainwell.results",
         "Recipe": "trainwell.recipe", "load_recipe": "trainwell.recipe",
         "Sweep": "trainwell.sweep", "load_sweep": "trainwell.sweep",
         "execute": "trainwell.execute", "RunOutcome": "trainwell.execute"}


def __getattr__(name: str) -> Any:
    if name == "train":
        return importlib.import_module("trainwell.train")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trainwell' has no attribute {name!r}")


class _TrainPackage(types.ModuleType):
    """The package :mod:`trainwell.train` (the training loop) is also the call ``tw.train(...)``
    (:func:`trainwell.api.train`): the package takes the attribute ``train`` of ``trainwell``
    when it is imported, so calling it trains a recipe."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from trainwell.api import train

        return train(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        from trainwell.api import train

        return inspect.signature(train)


class _Trainwell(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name == "train" and type(value) is types.ModuleType:
            value.__class__ = _TrainPackage
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Trainwell


def __dir__() -> list[str]:
    return sorted(__all__)
