"""A recipe's learning rate found by a range test (``trainwell lr-find``): its model,
initialized as the recipe says, with its optimizer and batch size on its training data."""

from __future__ import annotations

import torch

from trainwell.build import build_to_train
from trainwell.data import Dataset
from trainwell.optim.lr_find import LRFind, lr_find
from trainwell.recipe import Recipe

__all__ = ["lr_find_recipe"]


def lr_find_recipe(recipe: Recipe, *, steps: int = 100, start_lr: float = 1e-7,
                   end_lr: float = 10.0, dataset: Dataset | None = None) -> LRFind:
    """The learning-rate range test (:func:`~trainwell.optim.lr_find`) on the recipe's model,
    initialized as the recipe says, with its optimizer and batch size on its training data
    (``dataset``: the recipe's data, already prepared on its device).

    >>> found = lr_find_recipe(Recipe.from_dict({"data": {"name": "digits"}}), steps=30)
    >>> 1e-7 <= found.suggestion <= 10
    True
    """
    dataset, model, optimizer = build_to_train(recipe, dataset)
    x = dataset.decode(dataset.x_train)
    return lr_find(model, optimizer, x, dataset.y_train, steps=steps, start_lr=start_lr,
                   end_lr=end_lr, batch_size=recipe.train.batch_size,
                   generator=torch.Generator().manual_seed(recipe.train.seed))
