"""A fully connected network: flatten, ``depth`` hidden layers of ``width`` units, a linear head."""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.activations import Activation, Maxout, MaxoutK, NegativeSlope, make_activation
from trainwell.params import validate_params

__all__ = ["MLP", "mlp", "check_io"]


def check_io(input_shape: Sequence[int], num_classes: int, *, dims: tuple[int, ...] | None = None
             ) -> tuple[tuple[int, ...], int]:
    """Return ``(input_shape, num_classes)`` as plain ints after checking them.

    ``dims``, if given, lists the allowed lengths of ``input_shape``.

    >>> check_io([1, 40], 10)
    ((1, 40), 10)
    """
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) else ()
    ok = all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape)
    if not shape or not ok or (dims is not None and len(shape) not in dims):
        lengths = " or ".join(str(d) for d in dims) if dims else "one or more"
        raise ConfigError("model.input_shape", input_shape,
                          f"a shape per sample of {lengths} positive integers, e.g. (C, L) or (C, H, W)")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ConfigError("model.num_classes", num_classes, "an integer >= 1")
    return tuple(int(n) for n in shape), int(num_classes)


class MLP(nn.Module):
    """Flatten → one (Linear → [BatchNorm1d] → activation → [Dropout]) per hidden width → head.

    ``self.hidden`` is an :class:`torch.nn.Sequential` of blocks in forward order, each an
    ``nn.Sequential`` with children ``linear``, ``norm``, ``act``, ``drop`` (those that are
    used); with ``activation="maxout"`` the ``linear`` and ``act`` children are one
    :class:`Maxout` child named ``maxout``. ``self.head`` maps the last hidden layer to logits.
    :meth:`hidden_layers` lists the hidden ``nn.Linear`` modules in forward order.

    **Note:** with maxout, batch normalization is applied after the maximum (to the ``width``
    unit outputs), not to the ``maxout_k * width`` pieces.

    Build it with :func:`mlp`, which checks the options.
    """

    def __init__(self, in_features: int, num_classes: int, *, widths: Sequence[int],
                 activation: str, negative_slope: float, maxout_k: int, batch_norm: bool,
                 dropout: float) -> None:
        super().__init__()
        self.trainwell_activation = (activation, negative_slope)
        self.flatten = nn.Flatten(start_dim=1)
        blocks = []
        fan_in = in_features
        for width in widths:
            parts: OrderedDict[str, nn.Module] = OrderedDict()
            if activation == "maxout":
                parts["maxout"] = Maxout(fan_in, width, k=maxout_k)
            else:
                parts["linear"] = nn.Linear(fan_in, width)
            if batch_norm:
                parts["norm"] = nn.BatchNorm1d(width)
            if activation != "maxout":
                parts["act"] = make_activation(activation, negative_slope=negative_slope)
            if dropout > 0:
                parts["drop"] = nn.Dropout(dropout)
            blocks.append(nn.Sequential(parts))
            fan_in = width
        self.hidden = nn.Sequential(*blocks)
        self.head = nn.Linear(fan_in, num_classes)

    def hidden_layers(self) -> list[nn.Linear]:
        """The hidden ``nn.Linear`` modules in forward order (for maxout, the pieces' Linear)."""
        return [next(m for m in block.modules() if isinstance(m, nn.Linear)) for block in self.hidden]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(self.flatten(x)))


def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    depth: Annotated[int, Field(ge=1)] = 3,
    width: Annotated[int, Field(ge=1)] = 128,
    activation: Activation = "relu",
    negative_slope: NegativeSlope = 0.01,
    maxout_k: MaxoutK = 2,
    batch_norm: bool = False,
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    widths: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] | None = None,
) -> MLP:
    """Build a multilayer perceptron that maps inputs of ``input_shape`` to ``num_classes`` logits.

    Each hidden layer computes :math:`h_{l} = \\mathrm{drop}(f(\\mathrm{BN}(W_l h_{l-1} + b_l)))`
    with :math:`h_0 = \\mathrm{flatten}(x)`; the head computes :math:`W_{out} h_{depth} + b_{out}`.
    Batch normalization (Ioffe & Szegedy, "Batch Normalization", 2015) and dropout (Srivastava
    et al., "Dropout", 2014) are off by default. ``widths``, when set, gives each hidden layer's
    size and replaces ``depth`` and ``width`` (Hinton et al. 2006's 784-500-500-2000-10 network
    is ``widths=[500, 500, 2000]``). ``negative_slope`` is the leaky_relu slope;
    ``maxout_k`` the number of pieces of a maxout unit. The model's ``trainwell_activation`` is
    ``(activation, negative_slope)``, read by initializers to choose their gain.

    >>> model = mlp((1, 40), 10, depth=2, width=32)
    >>> model(torch.zeros(4, 1, 40)).shape, len(model.hidden_layers())
    (torch.Size([4, 10]), 2)
    """
    shape, num_classes = check_io(input_shape, num_classes)
    options = validate_params(mlp, {
        "depth": depth, "width": width, "activation": activation, "negative_slope": negative_slope,
        "maxout_k": maxout_k, "batch_norm": batch_norm, "dropout": dropout, "widths": widths,
    }, key="model")
    depth, width, widths = options.pop("depth"), options.pop("width"), options.pop("widths")
    return MLP(math.prod(shape), num_classes, widths=widths or [width] * depth, **options)
