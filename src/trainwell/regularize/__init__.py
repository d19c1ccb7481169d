"""Regularization (CS231n, "Training Neural Networks II"): penalties on the weights, dropout,
DropConnect, stochastic depth and early stopping, each a short functional core plus a thin
module or trainer callback.

:data:`REGULARIZERS` names every regularizer of the lecture for ``trainwell list``; batch
normalization, data augmentation and fractional max pooling live with the models and the data.
"""

from __future__ import annotations

import importlib
from typing import Any

# Eager: the function shares its module's name, which a lazy package attribute would shadow
# once the submodule is loaded.
from trainwell.regularize.dropout import DROPOUT_MODES, Dropout, dropout

_EXPORTS = {
    "INFERENCES": "dropconnect",
    "DropConnectBlock": "dropconnect",
    "DropConnectConv1d": "dropconnect",
    "DropConnectConv2d": "dropconnect",
    "DropConnectLinear": "dropconnect",
    "EarlyStopping": "early_stopping",
    "PENALIZED_LAYERS": "penalties",
    "Penalty": "penalties",
    "penalized_parameters": "penalties",
    "penalty": "penalties",
    "weight_penalty": "penalties",
    "DROP_MODES": "stochastic_depth",
    "SCALES": "stochastic_depth",
    "StochasticDepth": "stochastic_depth",
    "drop_path": "stochastic_depth",
    "survival_probabilities": "stochastic_depth",
}
"""Where each public name lives: loaded on first use, so a model that needs one layer
(``trainwell.regularize.dropconnect``) does not load the trainer callbacks."""


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"trainwell.regularize.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'trainwell.regularize' has no attribute {name!r}")


__all__ = [
    "REGULARIZERS",
    "penalty", "weight_penalty", "penalized_parameters", "Penalty", "PENALIZED_LAYERS",
    "dropout", "Dropout", "DROPOUT_MODES",
    "DropConnectLinear", "DropConnectConv1d", "DropConnectConv2d", "DropConnectBlock", "INFERENCES",
    "survival_probabilities", "drop_path", "StochasticDepth", "DROP_MODES", "SCALES",
    "EarlyStopping",
]

REGULARIZERS: dict[str, str] = {
    "l2": "L2 penalty λ·Σw² on Linear/Conv weights (weight decay; AdamW decouples it)",
    "l1": "L1 penalty λ·Σ|w| on Linear/Conv weights (sparse weights; with l2: elastic net)",
    "dropout": "zero each activation with probability p while training (Srivastava et al. 2014)",
    "dropconnect": "zero each weight with probability p while training (Wan et al. 2013)",
    "batch_norm": "normalize each layer's inputs over the minibatch (Ioffe & Szegedy 2015)",
    "augment": "random label-preserving transforms of the training inputs",
    "stochastic_depth": "drop whole residual blocks while training (Huang et al. 2016)",
    "fractional_pool": "max pooling over random non-integer regions (Graham 2014)",
    "early_stopping": "stop when the validation metric stops improving; keep the best weights",
}
"""Every regularizer of the lecture by name, with a one-line description."""
