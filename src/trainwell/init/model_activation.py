"""Which activation a model applies, for a scheme's gain: declared, or read off its modules.

trainwell's model builders declare it as ``model.trainwell_activation = (name, negative_slope)``.
Any other model (one a user's factory built, a plain ``nn.Sequential``) has its activation
modules read instead: :func:`activation_kinds` lists the distinct ones, and a model whose
activation modules are all of one kind applies that activation.
"""

from __future__ import annotations

from torch import nn

__all__ = ["ACTIVATION_MODULES", "activation_kinds"]

ACTIVATION_MODULES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.ELU: "elu", nn.SELU: "selu", nn.GELU: "gelu",
    nn.CELU: "celu", nn.PReLU: "prelu", nn.ReLU6: "relu6", nn.SiLU: "silu", nn.Mish: "mish",
    nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Softsign: "softsign", nn.Softplus: "softplus",
    nn.Identity: "identity",
}
"""torch's element-wise activation modules and the names trainwell gives them."""

# Defined among torch's activations, but not applied unit by unit to a hidden layer.
_NOT_HIDDEN = (nn.MultiheadAttention, nn.Softmax, nn.Softmin, nn.Softmax2d, nn.LogSoftmax)


def activation_kinds(model: nn.Module) -> list[tuple[str, float | None]]:
    """The distinct activations among ``model``'s modules, in order, as ``(name, negative_slope)``.

    ``negative_slope`` is the slope of a ``nn.LeakyReLU`` and ``None`` for the others, so two
    leaky_relus of different slopes are two kinds. ``nn.Identity`` is left out (models use it
    as a placeholder as often as an activation), and so are softmax and attention. Any other
    module of ``torch.nn.modules.activation`` counts under its class name (``"hardswish"``).

    >>> activation_kinds(nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2)))
    [('leaky_relu', 0.2)]
    >>> activation_kinds(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh()))
    [('relu', None), ('tanh', None)]
    """
    kinds: list[tuple[str, float | None]] = []
    for module in model.modules():
        if isinstance(module, (nn.Identity, *_NOT_HIDDEN)):
            continue
        name = ACTIVATION_MODULES.get(type(module))
        if name is None and type(module).__module__ == nn.ReLU.__module__:
            name = type(module).__name__.lower()
        if name is None:
            continue
        slope = float(module.negative_slope) if isinstance(module, nn.LeakyReLU) else None
        if (name, slope) not in kinds:
            kinds.append((name, slope))
    return kinds

