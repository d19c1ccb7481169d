"""Unsupervised pre-training: restricted Boltzmann machines, deep belief nets, auto-encoders.

Each pre-trainer takes a model and training inputs and returns a report; the model leaves
with its hidden layers set from what was learned. :data:`DATA_INITIALIZERS` names the
initializers that learn from data, as a recipe's ``[init] name`` selects them; each is
called as ``fn(model, inputs, generator=..., **options)`` with every training input.
"""

from __future__ import annotations

from collections.abc import Callable

from trainwell.init.lsuv import LSUVLayer, LSUVReport, lsuv_init_
from trainwell.pretrain.autoencoder import AutoencoderLayer, AutoencoderReport, autoencoder_pretrain_
from trainwell.pretrain.cd_options import CDOptions
from trainwell.pretrain.contrastive import RBMHistory
from trainwell.pretrain.dbn import DBNLayer, DBNReport, dbn_pretrain_
from trainwell.pretrain.rbm import RBM

DATA_INITIALIZERS: dict[str, Callable[..., LSUVReport | DBNReport | AutoencoderReport]] = {
    "lsuv": lsuv_init_,
    "dbn": dbn_pretrain_,
    "autoencoder": autoencoder_pretrain_,
}

DESCRIPTIONS = {
    "lsuv": "orthonormal, then each layer rescaled to unit output std on a batch (Mishkin & Matas 2016)",
    "dbn": "greedy RBM pre-training of the hidden layers, a deep belief net (Hinton et al. 2006)",
    "autoencoder": "greedy auto-encoder pre-training of the hidden layers (Bengio et al. 2007)",
}

__all__ = [
    "DATA_INITIALIZERS", "DESCRIPTIONS",
    "RBM", "RBMHistory", "CDOptions",
    "dbn_pretrain_", "DBNReport", "DBNLayer",
    "autoencoder_pretrain_", "AutoencoderReport", "AutoencoderLayer",
    "lsuv_init_", "LSUVReport", "LSUVLayer",
]
