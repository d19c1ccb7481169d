"""Transfer learning (CS231n lecture 7): start from a network trained on a bigger, similar
dataset; with little data train only a new classifier on top, with more fine-tune more layers,
the lower ones with a smaller learning rate.

- :mod:`~trainwell.transfer.groups`: a network as layer groups, bottom to top;
- :mod:`~trainwell.transfer.source`: reading a source's weights (safetensors only) and
  copying them into the target;
- :mod:`~trainwell.transfer.freeze`: freezing, discriminative lrs, gradual unfreezing;
- :mod:`~trainwell.transfer.resolve`: the recipe's ``[transfer]`` table;
- :mod:`~trainwell.transfer.apply`: all of it in a run.
"""

from trainwell.transfer.apply import source_weights, start_from, transfer_callbacks, transfer_params
from trainwell.transfer.freeze import Freeze, frozen_count, param_groups
from trainwell.transfer.groups import LayerGroup, layer_groups
from trainwell.transfer.source import load_into, read_weights

__all__ = ["source_weights", "start_from", "transfer_callbacks", "transfer_params", "Freeze",
           "frozen_count", "param_groups", "LayerGroup", "layer_groups", "load_into",
           "read_weights", "TRANSFER_OPTIONS"]

TRANSFER_OPTIONS: dict[str, str] = {
    "from": "a run folder, a .safetensors weights file with its recipe.toml beside it, or a "
            "recipe (a .toml file or an inline table) trained first, as a run of its own",
    "weights": "final (default) or averaged: the source's last or its averaged weights",
    "head": "new (default): a classifier for this data's classes, set by [init]; keep: the "
            "source's",
    "freeze": "none (default), features (all but the head) or the first N layer groups",
    "lr_mult": "each layer group going down trains at this times the lr of the one above "
               "(default 1: one lr for all)",
    "unfreeze_at": "epochs (from 0) at which one more frozen group starts training, top "
                   "first: gradual unfreezing (Howard & Ruder 2018)",
}
"""The ``[transfer]`` options with one line each, for ``trainwell list``."""
