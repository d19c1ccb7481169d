"""Freezing, discriminative learning rates and gradual unfreezing, by layer group.

- ``freeze``: ``"none"``, ``"features"`` (every group but the head) or ``N`` (the first ``N``
  groups). A frozen group's parameters get no gradient, and its normalization layers stay in
  eval mode, so their running statistics do not move either: ``requires_grad = False`` alone
  would leave batch norm updating its statistics on the new data (the common mistake; Keras's
  ``trainable = False`` does both).
- ``lr_mult = r``: discriminative learning rates. Going down from the head, each group gets
  ``r`` times the lr of the group above it: the head trains at the recipe's lr, the group
  below at ``r * lr``, then ``r^2 * lr``... (fastai's ``slice(lo, hi)`` spreads the same
  geometric ladder between two given ends.)
- ``unfreeze_at = [e1, e2, ...]``: gradual unfreezing (Howard & Ruder 2018). At the start of
  epoch ``e1`` (counted from 0) the top frozen group starts training, at ``e2`` the next...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError
from trainwell.transfer.groups import LayerGroup, layer_groups

if TYPE_CHECKING:
    from trainwell.loop.events import TrainState

__all__ = ["frozen_count", "param_groups", "Freeze", "check_unfreeze_at", "check_freeze"]


def frozen_count(freeze: str | int, groups: int) -> int:
    """How many groups from the bottom ``freeze`` freezes, out of ``groups``.

    >>> frozen_count("features", 4), frozen_count("none", 4), frozen_count(2, 4)
    (3, 0, 2)
    """
    if freeze == "none":
        return 0
    if freeze == "features":
        return groups - 1
    return min(int(freeze), groups)


def check_unfreeze_at(unfreeze_at: Sequence[int], *, epochs: int) -> list[int]:
    """``transfer.unfreeze_at``: strictly increasing epochs (counted from 0) before the run's
    last, ``epochs - 1``; an epoch at or past the end would never come.

    >>> check_unfreeze_at([2, 2], epochs=5)
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: transfer.unfreeze_at = [2, 2]: expected strictly increasing
    epochs (each group unfreezes at its own epoch)
    """
    values = list(unfreeze_at)
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ConfigError("transfer.unfreeze_at", values, "strictly increasing epochs (each "
                          "group unfreezes at its own epoch)")
    late = [e for e in values if e >= epochs]
    if late:
        raise ConfigError("transfer.unfreeze_at", values, f"epochs before the run's end, 1 .. "
                          f"{epochs - 1} (train.epochs = {epochs}; epoch {late[0]} never starts)")
    return values


def check_freeze(freeze: str | int, unfreeze_at: Sequence[int], groups: Sequence[str]) -> int:
    """How many of the model's layer ``groups`` (names, bottom to top) ``transfer.freeze``
    freezes; :class:`ConfigError` when it would freeze every group (nothing would train) or
    when ``unfreeze_at`` has more epochs than there are frozen groups.

    >>> check_freeze(3, [], ["hidden.0", "hidden.1", "head"])
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: transfer.freeze = 3: expected fewer than the model's 3 layer
    groups (hidden.0, hidden.1, head): at most 2, or "features" (all but the head)
    """
    n = len(groups)
    if isinstance(freeze, int) and freeze >= n:
        raise ConfigError("transfer.freeze", freeze, f"fewer than the model's {n} layer groups "
                          f"({', '.join(groups)}): at most {n - 1}, or \"features\" (all but "
                          "the head)")
    frozen = frozen_count(freeze, n)
    if len(unfreeze_at) > frozen:
        raise ConfigError("transfer.unfreeze_at", list(unfreeze_at),
                          f"at most {frozen} epochs: one per frozen layer group "
                          f"({', '.join(groups[:frozen]) or 'none'})")
    return frozen


def param_groups(model: torch.nn.Module, lr: float, lr_mult: float = 1.0) -> list[dict[str, Any]]:
    """Optimizer param groups, one per layer group, with discriminative learning rates:
    group ``i`` of ``n`` (from the bottom) trains at ``lr * lr_mult ** (n - 1 - i)``.
    Parameters outside every group (if any) train at ``lr``.

    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    >>> [g["lr"] for g in param_groups(m, 0.1, 0.5)]
    [0.05, 0.1]
    """
    groups = layer_groups(model)
    n = len(groups)
    out = [{"params": g.params, "lr": lr * lr_mult ** (n - 1 - i), "name": g.name}
           for i, g in enumerate(groups)]
    grouped = {id(p) for g in groups for p in g.params}
    rest = [p for p in model.parameters() if id(p) not in grouped]
    if rest:
        out.append({"params": rest, "lr": lr, "name": "other"})
    return [g for g in out if g["params"]]


class Freeze:
    """A trainer callback that keeps the bottom groups frozen and unfreezes them on schedule.

    ``frozen``: how many groups from the bottom start frozen; ``unfreeze_at``: the epochs at
    which one more group (from the top of the frozen ones) starts training. The trainable
    state is applied before every epoch (the trainer's evaluation puts every layer back in
    train mode afterwards), and ``history.unfrozen`` records when each group started.

    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    >>> f = Freeze(m, frozen=1)
    >>> f.apply(epoch=0)
    ['0']
    >>> m[0].weight.requires_grad, m[1].weight.requires_grad
    (False, True)
    """

    order = ORDER["unfreeze"]

    def __init__(self, model: torch.nn.Module, *, frozen: int,
                 unfreeze_at: Sequence[int] = ()) -> None:
        self.groups: list[LayerGroup] = layer_groups(model)
        self.frozen = min(frozen, len(self.groups))
        self.unfreeze_at = sorted(unfreeze_at)

    def frozen_at(self, epoch: int) -> int:
        """Groups frozen during ``epoch``."""
        return max(0, self.frozen - sum(e <= epoch for e in self.unfreeze_at))

    def apply(self, *, epoch: int) -> list[str]:
        """Set the trainable state for ``epoch``; return the frozen groups' names."""
        k = self.frozen_at(epoch)
        for i, g in enumerate(self.groups):
            trainable = i >= k
            for p in g.params:
                p.requires_grad_(trainable)
            for norm in g.norms:
                norm.train(trainable)
        return [g.name for g in self.groups[:k]]

    def unfrozen(self, epoch: int) -> dict[str, int]:
        """The groups unfrozen by ``epoch`` (inclusive), each with the epoch it started."""
        return {self.groups[self.frozen - 1 - j].name: e
                for j, e in enumerate(self.unfreeze_at[:self.frozen]) if e <= epoch}

    def before_epoch(self, state: TrainState) -> None:
        self.apply(epoch=state.epoch)
        state.history.unfrozen = self.unfrozen(state.epoch)

    def after_fit(self, state: TrainState) -> None:
        for p in state.model.parameters():
            p.requires_grad_(True)
