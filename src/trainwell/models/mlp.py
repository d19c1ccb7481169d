"""A fully connected network: flatten, ``depth`` hidden layers of ``width`` units, a linear head."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models.activations import Activation, Maxout, MaxoutK, NegativeSlope, make_activation
from trainwell.models.blocks import (
    BatchNorm,
    DropConnectInference,
    DropoutMode,
    Probability,
    check_dropconnect,
    hidden_block,
    norm_placement,
    weighted_layer,
)
from trainwell.params import validate_params
from trainwell.regularize.dropout import Dropout

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
    """Flatten → [Dropout] → one (Linear → [BatchNorm1d] → activation → [Dropout]) per hidden
    width → Linear head.

    ``self.hidden`` is an :class:`torch.nn.Sequential` of blocks in forward order, each an
    ``nn.Sequential`` with children ``linear``, ``norm``, ``act``, ``drop`` (those that are
    used; ``norm`` after ``act`` with ``batch_norm="after"``); with ``activation="maxout"`` the
    ``linear`` and ``act`` children are one :class:`Maxout` child named ``maxout``; with
    DropConnect they are one :class:`~trainwell.regularize.dropconnect.DropConnectBlock` named
    ``dropconnect`` (see :mod:`trainwell.models.blocks`). ``self.input_drop`` (only with input
    dropout) drops flattened inputs; ``self.head`` maps the last hidden layer to logits.
    :meth:`hidden_layers` lists the hidden ``nn.Linear`` modules in forward order.

    **Note:** with maxout, batch normalization is applied after the maximum (to the ``width``
    unit outputs), not to the ``maxout_k * width`` pieces.

    Build it with :func:`mlp`, which checks the options.
    """

    def __init__(self, in_features: int, num_classes: int, *, widths: Sequence[int],
                 activation: str, negative_slope: float, maxout_k: int, batch_norm: bool | str,
                 dropout: float, dropout_mode: DropoutMode = "inverted", input_dropout: float = 0.0,
                 dropconnect: float = 0.0, dropconnect_inference: DropConnectInference = "mean"
                 ) -> None:
        super().__init__()
        self.trainwell_activation = (activation, negative_slope)
        self.flatten = nn.Flatten(start_dim=1)
        self.input_drop = Dropout(input_dropout, mode=dropout_mode) if input_dropout > 0 else None
        placement = norm_placement(batch_norm)
        blocks = []
        fan_in = in_features
        for width in widths:
            if activation == "maxout":
                layer: nn.Module = Maxout(fan_in, width, k=maxout_k)
                act = None
            else:
                layer = weighted_layer(nn.Linear, fan_in, width, dropconnect=dropconnect,
                                       inference=dropconnect_inference)
                act = make_activation(activation, negative_slope=negative_slope)
            norm = nn.BatchNorm1d(width) if placement else None
            blocks.append(hidden_block("maxout" if act is None else "linear", layer, act, norm,
                                       placement=placement, dropout=dropout,
                                       dropout_mode=dropout_mode))
            fan_in = width
        self.hidden = nn.Sequential(*blocks)
        self.head = nn.Linear(fan_in, num_classes)

    def hidden_layers(self) -> list[nn.Linear]:
        """The hidden ``nn.Linear`` modules in forward order (for maxout, the pieces' Linear;
        with DropConnect, the :class:`~trainwell.regularize.dropconnect.DropConnectLinear`)."""
        return [next(m for m in block.modules() if isinstance(m, nn.Linear)) for block in self.hidden]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        if self.input_drop is not None:
            x = self.input_drop(x)
        return self.head(self.hidden(x))


def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    *,
    depth: Annotated[int, Field(ge=1)] = 3,
    width: Annotated[int, Field(ge=1)] = 128,
    activation: Activation = "relu",
    negative_slope: NegativeSlope = 0.01,
    maxout_k: MaxoutK = 2,
    batch_norm: BatchNorm = False,
    dropout: Probability = 0.0,
    widths: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] | None = None,
    dropout_mode: DropoutMode = "inverted",
    input_dropout: Probability = 0.0,
    dropconnect: Probability = 0.0,
    dropconnect_inference: DropConnectInference = "mean",
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

    Regularizers (CS231n, "Training Neural Networks II"):

    - ``batch_norm``: ``true`` or ``"before"`` normalizes before the activation, as Ioffe &
      Szegedy do; ``"after"`` normalizes the activation's output, :math:`\\mathrm{BN}(f(W h + b))`.
    - ``dropout`` after each hidden activation and ``input_dropout`` on the flattened input,
      both rescaled as ``dropout_mode`` says: ``"inverted"`` by :math:`1/(1-p)` while
      training, ``"scale_at_test"`` by :math:`1-p` at test (:mod:`trainwell.regularize.dropout`).
    - ``dropconnect = p > 0`` makes each hidden layer :math:`f((M \\odot W) h + b)`,
      :math:`M \\sim \\mathrm{Bernoulli}(1-p)` (Wan et al., "Regularization of Neural Networks
      using DropConnect", 2013), tested with the mean network or, with
      ``dropconnect_inference = "moment"``, the paper's moment matching
      (:mod:`trainwell.regularize.dropconnect`). It needs an element-wise activation and no
      norm between layer and activation (``batch_norm`` false or ``"after"``).

    >>> model = mlp((1, 40), 10, depth=2, width=32)
    >>> model(torch.zeros(4, 1, 40)).shape, len(model.hidden_layers())
    (torch.Size([4, 10]), 2)
    >>> [name for name, _ in mlp((1, 40), 10, dropconnect=0.5, batch_norm="after").hidden[0].named_children()]
    ['dropconnect', 'norm']
    """
    shape, num_classes = check_io(input_shape, num_classes)
    options = validate_params(mlp, {
        "depth": depth, "width": width, "activation": activation, "negative_slope": negative_slope,
        "maxout_k": maxout_k, "batch_norm": batch_norm, "dropout": dropout, "widths": widths,
        "dropout_mode": dropout_mode, "input_dropout": input_dropout, "dropconnect": dropconnect,
        "dropconnect_inference": dropconnect_inference,
    }, key="model")
    check_dropconnect(options["dropconnect"], activation=options["activation"],
                      batch_norm=options["batch_norm"])
    depth, width, widths = options.pop("depth"), options.pop("width"), options.pop("widths")
    return MLP(math.prod(shape), num_classes, widths=widths or [width] * depth, **options)
