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
           "read_weights"]
