"""trainwell: train deep networks well.

Initializers from zeros to LSUV, the lecture's optimizers, and recipes compared side by
side on built-in data, with the evidence of which one trains and why the others fail.

Names are loaded on first use, so ``import trainwell.data`` (say) loads no more than it needs.

From Python (:mod:`trainwell.api`): ``tw.train`` trains one recipe and returns a :class:`Run`;
``tw.compare`` runs a grid side by side and returns its :class:`Results`, which a notebook shows
as the results table. Overrides are keywords with ``__`` for the dots of a recipe key.
In a loop of your own (:mod:`trainwell.own_loop`): ``tw.init_`` and ``tw.lsuv_`` initialize
any model in place, ``tw.diagnose(model, x, y)`` probes one batch and returns a
:class:`~trainwell.diagnose.Diagnosis`, and ``tw.GradientFlowRecorder(model)`` records the
gradient flow as it trains.

>>> import trainwell as tw
>>> tw.Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}}).optim.name
'sgd'
>>> res = tw.compare(init=["he_normal", "zeros"], data__name="digits")  # doctest: +SKIP
>>> res.table(); res.plot_loss()                                        # doctest: +SKIP
>>> import torch
>>> net = tw.init_(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)),
...                "he_normal")
>>> tw.diagnose(net, torch.randn(32, 4), torch.randint(0, 2, (32,))).layers[0].activation
'relu'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from trainwell.errors import ConfigError, TrainwellError

__version__ = "0.1.0"

__all__ = ["train", "compare", "Run", "Results", "open_results", "ConfigError", "TrainwellError",
           "Recipe", "load_recipe", "Sweep", "load_sweep", "plan", "Plan", "execute", "RunOutcome",
           "RunContext", "RunFolder", "watch", "doctor", "lr_find", "diagnose", "init_", "lsuv_",
           "GradientFlowRecorder", "__version__"]

_LAZY = {"train": "trainwell.api", "compare": "trainwell.api", "Run": "trainwell.results",
         "Results": "trainwell.results", "open_results": "trainwell.results",
         "Recipe": "trainwell.recipe", "load_recipe": "trainwell.recipe",
         "Sweep": "trainwell.sweep", "load_sweep": "trainwell.sweep",
         "plan": "trainwell.plan", "Plan": "trainwell.plan",
         "execute": "trainwell.execute", "RunOutcome": "trainwell.execute",
         "RunContext": "trainwell.run_context", "RunFolder": "trainwell.run_folder",
         "watch": "trainwell.diagnose.watch", "doctor": "trainwell.doctor.doctor",
         "lr_find": "trainwell.optim.lr_find", "diagnose": "trainwell.diagnose",
         "init_": "trainwell.own_loop", "lsuv_": "trainwell.own_loop",
         "GradientFlowRecorder": "trainwell.diagnose"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trainwell' has no attribute {name!r}")


class _Trainwell(types.ModuleType):
    """Keeps every public name meaning what its documentation says: importing a subpackage
    that shares a public name (``trainwell.execute``, ``trainwell.diagnose``, the deprecated
    ``trainwell.train``) does not replace the function with the module (the module stays in
    ``sys.modules``: ``importlib.import_module("trainwell.diagnose")`` is the package)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Trainwell


def __dir__() -> list[str]:
    return sorted(__all__)
