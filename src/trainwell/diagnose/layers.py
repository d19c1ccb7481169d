"""Which modules of a network are its layers, and which activation belongs to each.

A *layer* is an ``nn.Linear`` or ``nn.Conv1d/2d/3d``, paired with the activation module that
follows it in its container (past batch norm, dropout and pooling); a :class:`Maxout` or
:class:`MaxoutConv` layer is its own activation, measured at the maximum over its pieces.
The probe and the gradient-flow recorder both hook the modules :func:`find_layers` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from trainwell.init.layers import WeightedLayer
from trainwell.init.model_activation import ACTIVATION_MODULES
from trainwell.models.activations import Maxout, MaxoutConv

__all__ = ["Layer", "find_layers", "can_die", "unknown_activations", "SATURATING"]

SATURATING: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0),
                                              "softsign": (-1.0, 1.0)}
"""Activations that saturate, with their bounds."""

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPARENT = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.Dropout,
                nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
                nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)


@dataclass
class Layer:
    """One layer: its 1-based ``index`` in forward order, module ``name``, ``weighted`` module
    (for maxout, the pieces' Linear/Conv), the ``output`` module whose output is its activation
    (the activation module, the Maxout module, or the weighted module itself when no activation
    follows), the ``activation`` name (``"none"`` if no activation follows), its ``units``, and
    ``channel_dim``, the dimension of its output that indexes the units (-1 Linear, 1 Conv)."""

    index: int
    name: str
    weighted: WeightedLayer
    output: nn.Module
    activation: str
    units: int
    channel_dim: int


def find_layers(model: nn.Module) -> list[Layer]:
    """The model's Linear/Conv layers in registration order, each paired with its activation.

    Within one container, the first activation module after a layer (past norms, dropouts and
    pools) is the layer's; a layer with none (the output layer, or one whose activation is a
    function call in ``forward``) has activation ``"none"`` and is measured at its own output.

    >>> net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    >>> [(layer.name, layer.activation) for layer in find_layers(net)]
    [('0', 'tanh'), ('3', 'none')]
    """
    found: list[Layer] = []
    paired: set[int] = set()

    def add(name: str, weighted: WeightedLayer, output: nn.Module, activation: str, units: int) -> Layer:
        dim = -1 if isinstance(weighted, nn.Linear) else 1
        found.append(Layer(len(found) + 1, name, weighted, output, activation, units, dim))
        return found[-1]

    def walk(module: nn.Module, prefix: str) -> None:
        pending: Layer | None = None
        for child_name, child in module._modules.items():  # with repeats: a shared module counts
            if child is None:
                continue
            path = prefix + child_name
            if isinstance(child, Maxout):
                pending = add(path + ".linear", child.linear, child, "maxout", child.out_features)
            elif isinstance(child, MaxoutConv):
                pending = add(path + ".conv", child.conv, child, "maxout", child.out_channels)
            elif isinstance(child, _WEIGHTED):
                units = child.out_features if isinstance(child, nn.Linear) else child.out_channels
                pending = add(path, child, child, "none", units)
            elif type(child) in ACTIVATION_MODULES:
                if pending is not None and pending.activation == "none" and id(child) not in paired:
                    pending.output, pending.activation = child, ACTIVATION_MODULES[type(child)]
                    paired.add(id(child))
                pending = None
            elif not isinstance(child, _TRANSPARENT):
                walk(child, path + ".")
                pending = None

    walk(model, "")
    return found


def can_die(module: nn.Module) -> bool:
    """True when a unit behind activation ``module`` can die: relu, relu6, or leaky_relu of slope 0.

    These pass neither a value nor a gradient for an input <= 0, so a unit whose input stays
    <= 0 on every sample never fires and never learns again. leaky_relu, elu, selu, celu,
    prelu, gelu, silu and mish pass a nonzero gradient for negative inputs: their units
    recover, however negative their bias.

    >>> [can_die(m) for m in (nn.ReLU(), nn.LeakyReLU(0.0), nn.LeakyReLU(0.2), nn.ELU())]
    [True, True, False, False]
    """
    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope == 0
    return isinstance(module, (nn.ReLU, nn.ReLU6))


def unknown_activations(model: nn.Module, layers: list[Layer]) -> list[str]:
    """One sentence per hidden layer whose activation is not known, so its units go unjudged:
    a module trainwell does not know follows it, or the activation is a call in ``forward``
    (after a residual sum, say)."""
    modules = dict(model.named_modules())
    notes = []
    for layer in layers[:-1]:
        if layer.activation != "none":
            continue
        parent, _, child = layer.name.rpartition(".")
        container = modules.get(parent) if parent else model
        follower = None
        if container is not None:
            names = list(container._modules)
            if child in names:
                after = [container._modules[n] for n in names[names.index(child) + 1:]]
                follower = next((m for m in after if m is not None and not isinstance(m, _TRANSPARENT)), None)
        if follower is not None and not list(follower.children()) and not isinstance(
                follower, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            what = f"is followed by {type(follower).__name__}, an activation trainwell does not know"
        else:
            what = "has no activation module after it (an activation called in forward is not seen)"
        notes.append(f"layer {layer.name} {what}: its dead and saturated units are not judged")
    return notes
