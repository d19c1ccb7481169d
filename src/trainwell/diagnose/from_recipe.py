"""Diagnose a recipe's network: at initialization, or after some training steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from trainwell.diagnose.diagnosis import Diagnosis
from trainwell.diagnose.verdicts import diagnose
from trainwell.recipe import Recipe
from trainwell.train.events import Callback, StopTraining
from trainwell.train.history import History

__all__ = ["diagnose_recipe", "diagnose_batch", "RecipeDiagnosis", "DIAGNOSE_BATCH"]

DIAGNOSE_BATCH = 256
"""Samples in the probe batch: enough for a "never fires on any sample" dead-unit count."""


@dataclass
class RecipeDiagnosis:
    diagnosis: Diagnosis
    history: History | None
    steps: int


class _StopAfter(Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def after_step(self, state) -> None:
        if state.step + 1 >= self.steps:
            raise StopTraining(f"diagnosis after {self.steps} steps")


def diagnose_batch(x: torch.Tensor, y: torch.Tensor, *, seed: int,
                   size: int = DIAGNOSE_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of ``size`` samples (all of them when fewer)."""
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:size]
    idx = idx.to(x.device)
    return x[idx], y[idx]


def diagnose_recipe(recipe: Recipe, *, after_steps: int = 0,
                    batch_size: int = DIAGNOSE_BATCH) -> RecipeDiagnosis:
    """Build and initialize the recipe's model, train ``after_steps`` optimizer steps (0: none),
    then probe one seeded batch of training data and judge it."""
    from trainwell.optim import build_optimizer
    from trainwell.train import fit
    from trainwell.train.device import resolve_device, set_threads
    from trainwell.execute import build_initialized_model, prepare_data

    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    dataset = prepare_data(recipe, device)
    model = build_initialized_model(recipe, dataset, device)
    optimizer = build_optimizer(recipe.optim.name, model.parameters(), **recipe.optim.options)
    history = None
    if after_steps > 0:
        per_epoch = math.ceil(len(dataset.x_train) / recipe.train.batch_size)
        history = fit(model, dataset, optimizer, epochs=math.ceil(after_steps / per_epoch),
                      batch_size=recipe.train.batch_size, eval_every=0,
                      callbacks=[_StopAfter(after_steps)],
                      generator=torch.Generator().manual_seed(recipe.train.seed))
    xb, yb = diagnose_batch(dataset.x_train, dataset.y_train, seed=recipe.train.seed,
                            size=batch_size)
    steps = len(history.step_loss) if history is not None else 0
    return RecipeDiagnosis(diagnose(model, xb, yb, optimizer=optimizer), history, steps)
