"""A recipe's network probed without a full run (``trainwell diagnose``): at initialization,
or after a few optimizer steps, one seeded batch of training data layer by layer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from trainwell.build import build_to_train, check_runnable
from trainwell.diagnose import DIAGNOSE_BATCH, Diagnosis, diagnose, diagnose_batch
from trainwell.loop import History, fit
from trainwell.loop.batches import steps_per_epoch
from trainwell.loop.callbacks import MaxSteps
from trainwell.recipe import Recipe

__all__ = ["diagnose_recipe", "RecipeDiagnosis"]


@dataclass
class RecipeDiagnosis:
    """The diagnosis, the history of the steps trained before it (if any) and their count."""

    diagnosis: Diagnosis
    history: History | None
    steps: int


def diagnose_recipe(recipe: Recipe, *, after_steps: int = 0,
                    batch_size: int = DIAGNOSE_BATCH) -> RecipeDiagnosis:
    """Build and initialize the recipe's model, train ``after_steps`` optimizer steps (0: none),
    then probe one seeded batch of training data and judge it.

    >>> d = diagnose_recipe(Recipe.from_dict({"data": {"name": "digits"},
    ...                                       "init": {"name": "zeros"}}))
    >>> "symmetric" in [v.kind for v in d.diagnosis.verdicts]
    True
    """
    dataset, model, optimizer = build_to_train(recipe)
    history = None
    if after_steps > 0:
        check_runnable(recipe, dataset)
        per_epoch = steps_per_epoch(len(dataset.x_train), recipe.train.batch_size)
        history = fit(model, dataset, optimizer, epochs=math.ceil(after_steps / per_epoch),
                      batch_size=recipe.train.batch_size, eval_every=0,
                      callbacks=[MaxSteps(after_steps)],
                      generator=torch.Generator().manual_seed(recipe.train.seed),
                      shuffle=recipe.train.shuffle is not False)
    xb, yb = diagnose_batch(dataset.x_train, dataset.y_train, seed=recipe.train.seed,
                            size=batch_size)
    xb = dataset.decode(xb)
    steps = len(history.step_loss) if history is not None else 0
    return RecipeDiagnosis(diagnose(model, xb, yb, optimizer=optimizer), history, steps)
