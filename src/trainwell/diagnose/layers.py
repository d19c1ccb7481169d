"""Which modules of a network are its layers, and which activation belongs to each.

A *layer* is an ``nn.Linear`` or ``nn.Conv1d/2d/3d``, paired with the activation module that
follows it in its container (past batch norm, dropout and pooling); a :class:`Maxout` or
:class:`MaxoutConv` layer is its own activation, measured at the maximum over its pieces.
The probe and the gradient-flow recorder both hook the modules :func:`find_layers` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from trainwell.models.activations import Maxout, MaxoutConv

__all__ = ["Layer", "find_layers", "RECTIFIERS", "SATURATING"]

RECTIFIERS = frozenset({"relu", "leaky_relu", "elu", "selu", "gelu", "celu", "prelu", "relu6",
                        "silu", "mish"})
"""Activations whose units can die: nothing passes above zero once the input stays <= 0."""
SATURATING: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0),
                                              "softsign": (-1.0, 1.0)}
"""Activations that saturate, with their bounds."""

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_ACTIVATIONS = {
    nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.ELU: "elu", nn.SELU: "selu", nn.GELU: "gelu",
    nn.CELU: "celu", nn.PReLU: "prelu", nn.ReLU6: "relu6", nn.SiLU: "silu", nn.Mish: "mish",
    nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Softsign: "softsign", nn.Softplus: "softplus",
    nn.Identity: "identity",
}
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
    weighted: nn.Module
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

    def add(name: str, weighted: nn.Module, output: nn.Module, activation: str, units: int) -> Layer:
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
            elif type(child) in _ACTIVATIONS:
                if pending is not None and pending.activation == "none" and id(child) not in paired:
                    pending.output, pending.activation = child, _ACTIVATIONS[type(child)]
                    paired.add(id(child))
                pending = None
            elif not isinstance(child, _TRANSPARENT):
                walk(child, path + ".")
                pending = None

    walk(model, "")
    return found
