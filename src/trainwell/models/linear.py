"""Softmax regression: flatten the input, one linear layer to the class logits, no hidden layer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from trainwell.models.mlp import check_io

__all__ = ["LinearClassifier", "linear"]


class LinearClassifier(nn.Module):
    """Flatten → Linear head: multinomial logistic (softmax) regression.

    ``self.flatten`` flattens each sample; ``self.head`` maps it to the logits. The model has
    no hidden layer (:meth:`hidden_layers` is empty) and no activation: its
    ``trainwell_activation`` is ``("identity", 0.01)``, so an initializer that takes its gain
    from the model uses the gain 1 of a linear layer.

    Build it with :func:`linear`, which checks the input shape and class count.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.trainwell_activation = ("identity", 0.01)
        self.flatten = nn.Flatten(start_dim=1)
        self.head = nn.Linear(in_features, num_classes)

    def hidden_layers(self) -> list[nn.Linear]:
        """No hidden layers: an empty list (the head is ``self.head``)."""
        return []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(x))


def linear(input_shape: Sequence[int], num_classes: int) -> LinearClassifier:
    """Build softmax regression from inputs of ``input_shape`` to ``num_classes`` logits.

    The logits are :math:`z = W\\,\\mathrm{flatten}(x) + b`; trained with the cross-entropy
    loss, :math:`p(y = k \\mid x) = \\mathrm{softmax}(z)_k` is multinomial logistic regression,
    the linear baseline of MNIST-1D (Greydanus & Kobak, "Scaling Down Deep Learning with
    MNIST-1D", 2020) and the first step of "Deep Learning Zero to All" lab 10 (S. Kim, 2017).
    An :func:`~trainwell.models.mlp.mlp` always has at least one hidden layer; this is the
    model with none.

    >>> model = linear((1, 28, 28), 10)
    >>> model.head, model(torch.zeros(2, 1, 28, 28)).shape
    (Linear(in_features=784, out_features=10, bias=True), torch.Size([2, 10]))
    """
    shape, num_classes = check_io(input_shape, num_classes)
    return LinearClassifier(math.prod(shape), num_classes)
