"""Weight initialization: the static schemes by name, and :func:`apply_` to put one on a model.

Every scheme is an in-place function on a weight tensor, like ``torch.nn.init``; its
keyword-only parameters are the options a recipe's ``[init]`` section may set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init.fixed import constant_, normal_, uniform_, zeros_
from trainwell.init.gain import NONLINEARITIES, gain
from trainwell.init.layers import LAYERS
from trainwell.init.model_activation import activation_kinds
from trainwell.init.orthogonal import orthogonal_, orthogonal_msra_
from trainwell.init.schemes import (
    glorot_normal_,
    glorot_uniform_,
    he_normal_,
    he_uniform_,
    lecture_he_,
    lecture_xavier_,
    lecun_normal_,
    lecun_uniform_,
    prettytensor_xavier_,
    torch_default_,
)
from trainwell.init.variance import fans, variance_scaling_
from trainwell.names import get
from trainwell.params import validate_params

__all__ = [
    "zeros_", "constant_", "uniform_", "normal_",
    "lecture_xavier_", "lecture_he_", "glorot_uniform_", "glorot_normal_",
    "he_uniform_", "he_normal_", "lecun_uniform_", "lecun_normal_",
    "orthogonal_", "orthogonal_msra_", "prettytensor_xavier_", "torch_default_",
    "variance_scaling_", "fans", "gain", "INITIALIZERS", "DESCRIPTIONS", "LAYERS", "apply_",
]

INITIALIZERS: dict[str, Callable[..., torch.Tensor]] = {
    "zeros": zeros_,
    "constant": constant_,
    "uniform": uniform_,
    "normal": normal_,
    "lecture_xavier": lecture_xavier_,
    "lecture_he": lecture_he_,
    "glorot_uniform": glorot_uniform_,
    "glorot_normal": glorot_normal_,
    "he_uniform": he_uniform_,
    "he_normal": he_normal_,
    "lecun_uniform": lecun_uniform_,
    "lecun_normal": lecun_normal_,
    "orthogonal": orthogonal_,
    "orthogonal_msra": orthogonal_msra_,
    "prettytensor_xavier": prettytensor_xavier_,
    "variance_scaling": variance_scaling_,
    "torch_default": torch_default_,
}

DESCRIPTIONS: dict[str, str] = {
    "zeros": "all weights 0: the units of a layer stay identical (same output, same gradient)",
    "constant": "all weights one value: the units of a layer never differ",
    "uniform": "U(a, b), by default U(-1, 1): the lecture's naive random init",
    "normal": "N(mean, std²), by default 0.01·N(0, 1): CS231n's small random numbers",
    "lecture_xavier": "randn / sqrt(fan_in), Xavier as the lecture writes it",
    "lecture_he": "randn / sqrt(fan_in / 2), He as the lecture writes it",
    "glorot_uniform": "U(±gain·sqrt(6 / (fan_in + fan_out))), Glorot & Bengio 2010",
    "glorot_normal": "N(0, gain²·2 / (fan_in + fan_out)), Glorot & Bengio 2010",
    "he_uniform": "U(±gain·sqrt(3 / fan)), gain from the activation, He et al. 2015",
    "he_normal": "N(0, gain² / fan), gain from the activation, He et al. 2015",
    "lecun_uniform": "U(±sqrt(3 / fan_in)), LeCun et al. 1998",
    "lecun_normal": "N(0, 1 / fan_in), LeCun et al. 1998",
    "orthogonal": "gain · a random orthogonal matrix, Saxe et al. 2013",
    "orthogonal_msra": "a random orthogonal matrix scaled to He's variance 2 / fan_in "
                       "(Mishkin & Matas' OrthoNorm-MSRA scaled)",
    "prettytensor_xavier": "prettytensor's xavier_init: uniform, or normal truncated at 2 std",
    "variance_scaling": "variance scale / fan_in, fan_out or fan_avg; normal, truncated or uniform",
    "torch_default": "what torch's reset_parameters() does: U(±1 / sqrt(fan_in)), biases too",
}


def apply_(
    model: nn.Module,
    scheme: str,
    *,
    bias: float | None = None,
    generator: torch.Generator | None = None,
    **options: Any,
) -> nn.Module:
    """Initialize every Linear and Conv weight of ``model`` with ``scheme``, in place, and set the biases.

    For each ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and ``nn.Conv3d`` in
    ``model.modules()`` order: ``W ← INITIALIZERS[scheme](W, **options)`` and ``b ← bias``
    (``None`` means 0, except for ``torch_default``, whose biases are drawn as torch draws
    them, ``U(±1 / sqrt(fan_in))``). Other modules keep their parameters: BatchNorm stays
    at torch's weight 1, bias 0. ``options`` are checked against the scheme's keyword-only
    parameters; a bad name or value raises :class:`~trainwell.errors.ConfigError` naming
    ``init.<option>``.

    A scheme with a ``nonlinearity`` option left at ``None`` takes the model's activation
    from its ``trainwell_activation = (name, negative_slope)`` attribute (set by trainwell's
    model builders); a model without one (a user's factory, a plain ``nn.Sequential``) has
    it read off its activation modules when they are all of one kind (``nn.Tanh`` → tanh,
    ``nn.LeakyReLU(0.2)`` → leaky_relu of slope 0.2, see
    :func:`~trainwell.init.model_activation.activation_kinds`). Mixed kinds, none, or one
    without a known gain need an explicit ``nonlinearity``, else :class:`ConfigError` at
    ``init.nonlinearity``. ``negative_slope=None`` takes the model's slope when the
    nonlinearity is the model's.

    **Note**: the scheme is applied to every layer alike, the output layer included, though
    no activation follows it. One rule for all layers is what torch and Keras code does;
    for the output layer a gain above 1 only scales the initial logits.

    Reference: S. Kim, "Lecture 10-2: Initialize weights in a smart way", 2017; the schemes'
    papers are in their own docstrings.

    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> _ = apply_(net, "he_normal", generator=torch.Generator().manual_seed(0))
    >>> net[0].bias.abs().sum().item()
    0.0
    """
    fn = get(INITIALIZERS, scheme, key="init.name")
    params = validate_params(fn, options, key="init")
    is_number = isinstance(bias, (int, float)) and not isinstance(bias, bool)
    if bias is not None and not (is_number and math.isfinite(bias)):
        raise ConfigError("init.bias", bias, "a finite number, or None for 0")
    _fill_from_model(model, params)
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, LAYERS):
                continue
            fn(module.weight, **params, generator=generator)
            if module.bias is None:
                continue
            if bias is None and fn is torch_default_:
                fan_in = fans(module.weight)[0]
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                torch.nn.init.uniform_(module.bias, -bound, bound, generator=generator)
            else:
                module.bias.fill_(0.0 if bias is None else float(bias))
    return model


def _fill_from_model(model: nn.Module, params: dict[str, Any]) -> None:
    """Put the model's activation (and its slope) where the scheme's options left ``None``."""
    if "nonlinearity" not in params:
        return
    declared = getattr(model, "trainwell_activation", None)
    kinds = [declared] if declared is not None else activation_kinds(model)
    name, slope = kinds[0] if len(kinds) == 1 else (None, None)
    if params["nonlinearity"] is None:
        if declared is not None and name not in NONLINEARITIES:
            raise ConfigError("model.activation", name, f"an activation with a known gain "
                              f"({', '.join(NONLINEARITIES)}), or set init.nonlinearity")
        if name not in NONLINEARITIES:
            raise ConfigError("init.nonlinearity", None, f"one of {', '.join(NONLINEARITIES)} "
                              f"(the model's activation cannot be inferred: {_why(kinds)})")
        params["nonlinearity"] = name
    if params.get("negative_slope") is None and params["nonlinearity"] == name:
        params["negative_slope"] = slope


def _why(kinds: list[tuple[str, float | None]]) -> str:
    if not kinds:
        return "it has no activation module"
    named = [name if slope is None else f"{name}({slope:g})" for name, slope in kinds]
    if len(named) == 1:
        return f"its activation modules are {named[0]}, whose gain is not known"
    return f"its activation modules are of {len(named)} kinds ({', '.join(named)})"
