"""A screening run's budget: ``screen`` of the recipe's and at least an epoch, in optimizer
steps when an epoch's are known, else in whole epochs; the recipe dict of a run on that
budget, and the budget in words for the doctor's result and page.

A budget is ``(epochs, max_steps)`` (``max_steps`` is ``None`` when it ends with an epoch), or
``None`` when it is the recipe's whole budget.

>>> r = Recipe.from_dict({"train": {"epochs": 20}})
>>> budget_text(r, screen_budget(r, 10, 1 / 8), 10)
'25 of 200 steps'
"""

from __future__ import annotations

import math
from typing import Any

from trainwell.recipe import Recipe

__all__ = ["screen_budget", "total_steps", "budget_text", "shorten", "with_values"]


def screen_budget(recipe: Recipe, per_epoch: int | None,
                  screen: float) -> tuple[int, int | None] | None:
    """A screening run's budget, ``screen`` of the recipe's and at least an epoch (every
    training sample seen once): ``(epochs, max_steps)``, in optimizer steps when the steps of an
    epoch, ``per_epoch``, are known (``max_steps`` is ``None`` when the budget ends with an epoch;
    a recipe's own ``train.max_steps`` caps its budget), else in whole epochs; ``None`` when
    that is the whole budget.

    >>> r = Recipe.from_dict({"train": {"epochs": 20}})
    >>> screen_budget(r, 10, 1 / 8), screen_budget(r, 10, 1 / 4), screen_budget(r, None, 1 / 8)
    ((3, 25), (5, None), (2, None))
    >>> screen_budget(Recipe.from_dict({"train": {"epochs": 3}}), 16, 1 / 8)
    (1, None)
    >>> screen_budget(Recipe.from_dict({"train": {"epochs": 1}}), 16, 1 / 8) is None
    True
    >>> screen_budget(Recipe.from_dict({"train": {"epochs": 20, "max_steps": 160}}), 10, 1 / 8)
    (2, None)
    """
    epochs = recipe.train.epochs
    if per_epoch is None:
        short = min(epochs, max(1, round(epochs * screen)))
        return (short, None) if short < epochs else None
    total = total_steps(recipe, per_epoch)
    steps = max(min(per_epoch, total), round(total * screen))
    if steps >= total:
        return None
    return math.ceil(steps / per_epoch), (None if steps % per_epoch == 0 else steps)


def total_steps(recipe: Recipe, per_epoch: int) -> int:
    """The optimizer steps of a run of ``recipe``: its epochs', or its ``train.max_steps``."""
    total = recipe.train.epochs * per_epoch
    return total if recipe.train.max_steps is None else min(total, recipe.train.max_steps)


def budget_text(recipe: Recipe, short: tuple[int, int | None] | None,
                per_epoch: int | None) -> str:
    """:attr:`~trainwell.doctor.result.DoctorResult.screen_budget`.

    >>> r = Recipe.from_dict({"train": {"epochs": 20}})
    >>> budget_text(r, (3, 25), 10), budget_text(r, (2, None), None), budget_text(r, None, 10)
    ('25 of 200 steps', '2 of 20 epochs', 'the whole budget')
    """
    if short is None:
        return "the whole budget"
    epochs, steps = short
    if steps is not None and per_epoch is not None:
        return f"{steps} of {total_steps(recipe, per_epoch)} steps"
    return f"{epochs} of {recipe.train.epochs} epochs"


def shorten(raw: dict[str, Any], budget: tuple[int, int | None] | None,
            stop_on: list[str]) -> dict[str, Any]:
    """A screening run of ``raw``: the ``(epochs, max_steps)`` of :func:`screen_budget`,
    stopped on ``stop_on``, its validation and test sets evaluated once, at the end
    (``eval_every = 0``), unless early stopping reads them every epoch; ``raw`` itself when the
    budget is the whole one (``None``)."""
    if budget is None:
        return raw
    epochs, max_steps = budget
    once = {} if raw.get("train", {}).get("early_stopping") else {"eval_every": 0}
    steps = {} if max_steps is None else {"max_steps": max_steps}
    return with_values(raw, "train", epochs=epochs, stop_on=stop_on, **once, **steps)


def with_values(raw: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    """``raw`` with ``values`` set in its ``section`` (a new dict; ``raw`` is left as it is).

    >>> with_values({"train": {"epochs": 3}}, "train", record_every=50)
    {'train': {'epochs': 3, 'record_every': 50}}
    """
    return {**raw, section: {**raw.get(section, {}), **values}}
