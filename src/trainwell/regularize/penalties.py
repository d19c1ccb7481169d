"""L1, L2 and elastic-net penalties on the loss, and the trainer callback that adds them.

``R(W) = l1 · Σ|w| + l2 · Σw²`` over the weights of the Linear and Conv layers. Its gradient
is ``l1 · sign(w) + 2 · l2 · w``; with plain SGD (also with momentum) an L2 penalty ``l2`` is
the same as ``torch.optim.SGD(weight_decay=2 · l2)``. With an adaptive optimizer (Adam) the
two differ: the penalty's gradient is divided by ``√v̂`` like the data gradient, so weights
with large gradients are decayed less. AdamW decouples the decay from the gradient
(``w ← w − lr · (m̂ / (√v̂ + ε) + λ · w)``), which is what Loshchilov & Hutter recommend.

**Note**: in the paper the decoupled decay is scaled by the schedule multiplier ``η_t`` only,
not by the learning rate ``α``; torch's ``AdamW`` scales it by ``lr = η_t · α``, so its
``weight_decay`` is the paper's ``λ / α``.

Reference: I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019;
H. Zou, T. Hastie, "Regularization and variable selection via the elastic net", 2005.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from trainwell.callback_order import ORDER
from trainwell.loop.events import Callback, TrainState
from trainwell.regularize._checks import check_nonnegative

__all__ = ["PENALIZED_LAYERS", "penalized_parameters", "weight_penalty", "penalty", "Penalty"]

PENALIZED_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear, nn.Bilinear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
)
"""The layers whose ``weight`` is penalized (their subclasses too: DropConnect layers, the
pieces of a maxout unit). Normalization layers, embeddings and activation parameters are not."""


def penalized_parameters(model: nn.Module, *, include_bias: bool = False) -> list[nn.Parameter]:
    """The parameters a penalty applies to: the weight of every Linear/Conv layer of ``model``,
    and with ``include_bias`` their biases too.

    Normalization parameters (the scale and shift of BatchNorm, LayerNorm, GroupNorm) are never
    included: they set the scale the next layer sees, and shrinking them fights the
    normalization. A parameter shared by several layers is listed once; frozen parameters
    (``requires_grad=False``) are left out.

    >>> net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    >>> [tuple(p.shape) for p in penalized_parameters(net)]
    [(4, 3), (2, 4)]
    >>> len(penalized_parameters(net, include_bias=True))
    4
    """
    found: dict[int, nn.Parameter] = {}
    for module in model.modules():
        if not isinstance(module, PENALIZED_LAYERS):
            continue
        names = ("weight", "bias") if include_bias else ("weight",)
        for name in names:
            p = getattr(module, name, None)
            if isinstance(p, nn.Parameter) and p.requires_grad:
                found.setdefault(id(p), p)
    return list(found.values())


def weight_penalty(params: Iterable[torch.Tensor], *, l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """``l1 · Σ|w| + l2 · Σw²`` summed over ``params``: a 0-d tensor, differentiable.

    The functional core of :func:`penalty`; no argument checks.

    >>> weight_penalty([torch.tensor([1.0, -2.0])], l1=0.5, l2=0.1)
    tensor(2.)
    """
    params = list(params)
    if not params or (l1 == 0 and l2 == 0):
        device = params[0].device if params else None
        return torch.zeros((), device=device)
    total = torch.zeros((), device=params[0].device, dtype=params[0].dtype)
    if l2:
        total = total + l2 * torch.stack([p.pow(2).sum() for p in params]).sum()
    if l1:
        total = total + l1 * torch.stack([p.abs().sum() for p in params]).sum()
    return total


def penalty(model: nn.Module, *, l1: float = 0.0, l2: float = 0.0,
            include_bias: bool = False) -> torch.Tensor:
    """The elastic-net penalty ``l1 · Σ|w| + l2 · Σw²`` of ``model``'s Linear/Conv weights.

    Which parameters count is :func:`penalized_parameters`: weights only by default, biases
    with ``include_bias``, normalization parameters never. ``l1`` and ``l2`` must be finite
    and ``>= 0``; L2 alone is weight decay, L1 alone the lasso, both the elastic net.

    **Note**: the L2 term is ``l2 · Σw²``, not ``l2/2 · Σw²``: its gradient is ``2 · l2 · w``,
    so it matches ``weight_decay = 2 · l2`` of ``torch.optim.SGD``, not ``weight_decay = l2``.

    >>> layer = nn.Linear(2, 1)
    >>> _ = nn.init.constant_(layer.weight, 3.0)
    >>> penalty(layer, l2=0.5)  # 0.5 · (9 + 9); the bias is left out
    tensor(9., grad_fn=<AddBackward0>)
    """
    l1 = check_nonnegative("regularize.l1", l1)
    l2 = check_nonnegative("regularize.l2", l2)
    return weight_penalty(penalized_parameters(model, include_bias=include_bias), l1=l1, l2=l2)


class Penalty(Callback):
    """Adds :func:`penalty` to every minibatch loss (the ``after_loss`` event).

    The parameter list is collected once at ``before_fit``, so layers added to the model
    after that are not penalized. ``state.data_loss`` keeps the data term, which is what the
    history records; the penalty reaches the gradient only.

    >>> cb = Penalty(l2=1e-4)
    >>> cb
    Penalty(l1=0.0, l2=0.0001, include_bias=False)
    """

    order = ORDER["penalty"]

    def __init__(self, *, l1: float = 0.0, l2: float = 0.0, include_bias: bool = False) -> None:
        self.l1 = check_nonnegative("regularize.l1", l1)
        self.l2 = check_nonnegative("regularize.l2", l2)
        self.include_bias = bool(include_bias)
        self._params: list[nn.Parameter] | None = None

    def __repr__(self) -> str:
        return f"Penalty(l1={self.l1}, l2={self.l2}, include_bias={self.include_bias})"

    def before_fit(self, state: TrainState) -> None:
        self._params = penalized_parameters(state.model, include_bias=self.include_bias)

    def after_loss(self, state: TrainState) -> None:
        if self._params is None:  # used without before_fit (a hand-written loop)
            self.before_fit(state)
        assert self._params is not None and state.loss is not None
        if self.l1 or self.l2:
            state.loss = state.loss + weight_penalty(self._params, l1=self.l1, l2=self.l2)

    def after_fit(self, state: TrainState) -> None:
        self._params = None
