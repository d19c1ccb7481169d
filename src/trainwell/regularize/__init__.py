"""Regularization (CS231n, "Training Neural Networks II"): penalties on the weights, dropout,
DropConnect, stochastic depth and early stopping, each a short functional core plus a thin
module or trainer callback.

:data:`REGULARIZERS` names every regularizer of the lecture for ``trainwell list``; batch
normalization, data augmentation and fractional max pooling live with the models and the data.
"""

from __future__ import annotations

from trainwell.regularize.dropconnect import (
    INFERENCES,
    DropConnectBlock,
    DropConnectConv1d,
    DropConnectConv2d,
    DropConnectLinear,
)
from trainwell.regularize.dropout import DROPOUT_MODES, Dropout, dropout
from trainwell.regularize.early_stopping import EarlyStopping
from trainwell.regularize.penalties import (
    PENALIZED_LAYERS,
    Penalty,
    penalized_parameters,
    penalty,
    weight_penalty,
)
from trainwell.regularize.stochastic_depth import (
    DROP_MODES,
    SCALES,
    StochasticDepth,
    drop_path,
    survival_probabilities,
)

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
