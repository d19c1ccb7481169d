"""A user's own model factory for the doctor benchmark (``model.name = "user_models:user_net"``):
a plain torch module the library did not build, with its own layer names."""

from __future__ import annotations

import math

from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


class UserNet(nn.Module):
    """Flatten → ``depth`` × (Linear → [BatchNorm] → activation) → Linear."""

    def __init__(self, in_features: int, num_classes: int, *, depth: int, width: int,
                 activation: str, batch_norm: bool) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        blocks, size = [], in_features
        for _ in range(depth):
            parts = [nn.Linear(size, width)]
            if batch_norm:
                parts.append(nn.BatchNorm1d(width))
            parts.append(_ACTIVATIONS[activation]())
            blocks.append(nn.Sequential(*parts))
            size = width
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(size, num_classes)
        self.trainwell_activation = (activation, 0.01)

    def forward(self, x):
        return self.classifier(self.features(self.flatten(x)))


def user_net(input_shape, num_classes, *, depth: int = 3, width: int = 64, activation: str = "relu",
             batch_norm: bool = False) -> UserNet:
    return UserNet(math.prod(input_shape), num_classes, depth=depth, width=width,
                   activation=activation, batch_norm=batch_norm)
