"""The doctor's learning-rate range test (:func:`~trainwell.recipe_lr_find.lr_find_recipe`):
whether a recipe's symptoms call for it, and the learning rate it suggests to the first round
of fixes.

It runs only for a learning-rate symptom (:data:`LR_SYMPTOMS`), and only when the fix it
makes (``"lr 0.01 (range test)"``) would be among the round's first ``limit`` fixes
(:func:`~trainwell.doctor.fixes.propose_fixes`); on an in-process backend, on the data its
runs prepared. When it fails, the other fixes race without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from trainwell.doctor.fixes import propose_fixes
from trainwell.recipe import Recipe
from trainwell.run import Backend
from trainwell.run.inprocess import InProcessBackend

__all__ = ["LR_SYMPTOMS", "asks_range", "range_lr"]

LR_SYMPTOMS = ("lr_high", "lr_low", "oscillating", "slow", "chance")
"""Symptoms for which the range test runs first."""


def asks_range(recipe: Recipe, symptoms: Sequence[str], gap: float | None, limit: int) -> bool:
    """Whether the range test's learning rate can be among the first round's fixes: only a
    learning-rate symptom proposes it, and only when its fix comes within ``limit``."""
    if not set(symptoms) & set(LR_SYMPTOMS):
        return False
    far = 1000 * float(recipe.optim.options.get("lr", 1e-3))
    return any(f.label.endswith("(range test)")
               for f in propose_fixes(recipe, symptoms, lr=far, gap=gap, limit=limit))


def range_lr(recipe: Recipe, steps: int, runner: Backend) -> float | None:
    """The range test's suggestion (``None``: it failed), on the data the in-process runs
    prepared."""
    from trainwell.recipe_lr_find import lr_find_recipe
    from trainwell.run.backend import placed_device, prepared_data

    try:
        dataset = (prepared_data(recipe, placed_device(recipe.train.device, runner.slot))
                   if isinstance(runner, InProcessBackend) else None)
        return lr_find_recipe(recipe, steps=steps, dataset=dataset).suggestion
    except Exception:  # a failed range test leaves the other fixes to race
        return None
