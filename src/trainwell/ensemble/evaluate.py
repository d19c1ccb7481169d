"""Ensembles of runs: the mean of the members' class probabilities, from stored predictions.

An ensemble predicts the class of highest mean probability over its members. Averaging
probabilities, not logits, is the lecture's (and Huang et al.'s) rule: a member that is sure
counts for more than one that hesitates, and members whose logits live on different scales
are still comparable. The *oracle* counts a sample right when any member is right: an upper
bound that says how much the members disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from trainwell.errors import TrainwellError

__all__ = ["EnsembleScore", "ensemble_probs", "accuracy", "oracle_accuracy", "score",
           "growth_curve", "MismatchError"]


class MismatchError(TrainwellError):
    """The runs asked to form an ensemble were not evaluated on the same data."""


def ensemble_probs(members: Sequence[torch.Tensor]) -> torch.Tensor:
    """The mean of the members' probabilities (samples x classes each).

    >>> ensemble_probs([torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])]).tolist()
    [[0.5, 0.5]]
    """
    if not members:
        raise ValueError("an ensemble needs at least one member")
    shapes = {tuple(p.shape) for p in members}
    if len(shapes) != 1:
        raise MismatchError(f"members' predictions differ in shape: {sorted(shapes)}")
    return torch.stack([p.float() for p in members]).mean(0)


def accuracy(probs: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of samples whose most probable class is the label.

    >>> accuracy(torch.tensor([[0.9, 0.1], [0.4, 0.6]]), torch.tensor([0, 0]))
    0.5
    """
    return float((probs.argmax(1) == y).float().mean()) if len(y) else float("nan")


def oracle_accuracy(members: Sequence[torch.Tensor], y: torch.Tensor) -> float:
    """Fraction of samples that at least one member gets right.

    >>> oracle_accuracy([torch.tensor([[0.9, 0.1]]), torch.tensor([[0.2, 0.8]])], torch.tensor([1]))
    1.0
    """
    right = torch.stack([p.argmax(1) == y for p in members]).any(0)
    return float(right.float().mean()) if len(y) else float("nan")


@dataclass(frozen=True)
class EnsembleScore:
    """How an ensemble of ``n`` members did: each member's accuracy, their mean, the
    ensemble's and the oracle's."""

    members: list[float]
    ensemble: float
    oracle: float

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def mean(self) -> float:
        return sum(self.members) / len(self.members)

    @property
    def gain(self) -> float:
        """The ensemble's accuracy minus the members' mean."""
        return self.ensemble - self.mean


def score(members: Sequence[torch.Tensor], y: torch.Tensor) -> EnsembleScore:
    """Score an ensemble of probabilities ``members`` against labels ``y``.

    >>> s = score([torch.tensor([[0.6, 0.4]]), torch.tensor([[0.3, 0.7]])], torch.tensor([1]))
    >>> s.members, s.ensemble, s.oracle
    ([0.0, 1.0], 1.0, 1.0)
    """
    probs = ensemble_probs(members)
    if len(y) != len(probs):
        raise MismatchError(f"{len(probs)} predictions for {len(y)} labels")
    return EnsembleScore([accuracy(p, y) for p in members], accuracy(probs, y),
                         oracle_accuracy(members, y))


def growth_curve(members: Sequence[torch.Tensor], y: torch.Tensor) -> list[float]:
    """Accuracy of the ensemble of the first ``k`` members, ``k = 1 .. n``.

    >>> growth_curve([torch.tensor([[0.6, 0.4]]), torch.tensor([[0.1, 0.9]])], torch.tensor([1]))
    [0.0, 1.0]
    """
    total = torch.zeros_like(members[0], dtype=torch.float32)
    out = []
    for k, p in enumerate(members, start=1):
        total += p.float()
        out.append(accuracy(total / k, y))
    return out
