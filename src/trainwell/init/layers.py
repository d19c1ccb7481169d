"""The layer types trainwell's initializers set: Linear and Conv, whose weight has fans."""

from __future__ import annotations

from torch import nn

__all__ = ["LAYERS", "WeightedLayer"]

LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""The layers :func:`~trainwell.init.apply_` and :func:`~trainwell.init.lsuv.lsuv_` initialize;
every other module is left as it is."""

WeightedLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
"""The type of a module in :data:`LAYERS`."""
