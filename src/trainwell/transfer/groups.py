"""A network as an ordered list of layer groups, bottom to top: the unit of transfer learning.

Freezing, discriminative learning rates and gradual unfreezing all speak of "layers" from the
input up to the classifier. A *group* is one layer as a user would count it: a Linear or Conv
layer together with the normalization that follows it (``hidden.0``, ``features.1``), a whole
residual block (``blocks.2``), the stem, and the classifier ``head`` last. Concretely, each
child of the model with parameters is a group, except that a ``Sequential`` child whose items
hold layers is split into one group per item, and an item with only normalization parameters
(a batch norm after a stem's conv) joins the group before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

__all__ = ["LayerGroup", "layer_groups", "group_of", "NORMS"]

NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
         nn.modules.instancenorm._InstanceNorm)
"""Normalization layers: they hold statistics that a frozen layer must not update."""

_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


@dataclass
class LayerGroup:
    """One layer group: its name (the state-dict prefix), modules and parameters."""

    name: str
    modules: list[nn.Module] = field(default_factory=list)

    @property
    def params(self) -> list[nn.Parameter]:
        seen: dict[int, nn.Parameter] = {}
        for m in self.modules:
            for p in m.parameters():
                seen.setdefault(id(p), p)
        return list(seen.values())

    @property
    def norms(self) -> list[nn.Module]:
        return [s for m in self.modules for s in m.modules() if isinstance(s, NORMS)]


def _has_layer(module: nn.Module) -> bool:
    return any(isinstance(m, _LAYERS) for m in module.modules())


def _has_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """The model's layer groups, from the input to the output (see the module).

    >>> from trainwell.models import build_model
    >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, depth=2, batch_norm=True)
    >>> [g.name for g in layer_groups(m)]
    ['hidden.0', 'hidden.1', 'head']
    """
    groups: list[LayerGroup] = []
    for name, child in model.named_children():
        if not _has_params(child):
            continue
        items = list(child.named_children()) if isinstance(child, nn.Sequential) else []
        if items and sum(_has_layer(c) for _, c in items) > 1:
            for sub, item in items:
                if not _has_params(item):
                    continue
                if groups and not _has_layer(item) and groups[-1].name.startswith(f"{name}."):
                    groups[-1].modules.append(item)
                else:
                    groups.append(LayerGroup(f"{name}.{sub}", [item]))
        else:
            groups.append(LayerGroup(name, [child]))
    if not groups and _has_params(model):
        groups.append(LayerGroup("", [model]))
    return groups


def group_of(groups: list[LayerGroup], key: str) -> str | None:
    """The name of the group a state-dict ``key`` belongs to (``None`` for none)."""
    for g in groups:
        if not g.name or key == g.name or key.startswith(g.name + "."):
            return g.name
    return None


