"""From verdicts to fixes: each symptom's remedies from the lectures, as changes of a recipe.

A :class:`Fix` is a label, the reason (the verdict it answers) and a partial recipe: the
sections it changes, merged into the recipe as a sweep variant does
(:mod:`trainwell.sweep`). :func:`propose_fixes` orders them by how directly they answer the
verdicts found, keeps only changes the recipe's model and optimizer accept, and drops
duplicates.

The remedies (CS231n "Training Neural Networks" I and II; S. Kim, "Lecture 10-2: Initialize
weights in a smart way"; AutoTrainer, ICSE 2021): an init that suits the activation (He,
LSUV, orthogonal); relu in place of a saturating activation, leaky_relu for dying units; batch
norm; a learning rate from the range test; Adam; gradient clipping; warm-up; a regularizer when
the network fits its training data far better than validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trainwell.recipe import Recipe, takes_option
from trainwell.sweep_variants import VARIANT_LABEL

__all__ = ["Fix", "propose_fixes", "step_fixes", "GAP", "FAN_SCALED", "ADAM_LRS"]

GAP = 0.15
"""A regularizer is proposed when training accuracy exceeds validation accuracy by this much."""
FAN_SCALED = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal",
              "lecun_uniform", "orthogonal", "lsuv", "lecture_he", "lecture_xavier")
"""Inits scaled by the layer's fan (or by data): the lectures' answer to a bad init scale."""
_SATURATING = ("sigmoid", "tanh", "softsign")
ADAM_LRS = (1e-3, 1e-2)
"""Adam's learning rates tried once the network trains: CS231n's default (1e-3) and a coarse
step above it, as the lecture's coarse search over a log range begins."""


@dataclass(frozen=True)
class Fix:
    """A change of the recipe: ``label``, ``reason`` and the partial sections in ``changes``."""

    label: str
    reason: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def variant(self) -> dict[str, Any]:
        """The fix as a ``[[sweep.variants]]`` table."""
        return {VARIANT_LABEL: self.label, **self.changes}


def propose_fixes(recipe: Recipe, kinds: Sequence[str], *, lr: float | None = None,
                  gap: float | None = None, limit: int = 5) -> list[Fix]:
    """The fixes for the symptoms ``kinds`` (most direct first), at most ``limit``.

    ``lr`` is the range test's suggestion (``None``: not run); ``gap`` the brief run's training
    minus validation accuracy.

    >>> r = Recipe.from_dict({"model": {"name": "mlp", "activation": "sigmoid", "depth": 10}})
    >>> [f.label for f in propose_fixes(r, ["vanishing"], limit=3)]
    ['relu + he_normal', 'batch_norm', 'lsuv']
    """
    model, opts = recipe.model.name, recipe.model.options
    act = str(opts.get("activation", "relu"))
    base_lr = float(recipe.optim.options.get("lr", 1e-3))
    has = {o: takes_option("model", model, o) for o in ("activation", "batch_norm", "dropout")}
    per_kind: list[list[Fix]] = []
    out: list[Fix] = []

    def add(label: str, reason: str, **changes: dict[str, Any]) -> None:
        if changes:
            out.append(Fix(label, reason, changes))

    def init(name: str, reason: str) -> None:
        if recipe.init.name != name:
            add(name, reason, init={"name": name})

    def relu_he(reason: str) -> None:
        if has["activation"] and act in _SATURATING:
            add("relu + he_normal", reason, model={"activation": "relu"}, init={"name": "he_normal"})

    def batch_norm(reason: str) -> None:
        if has["batch_norm"] and not opts.get("batch_norm"):
            add("batch_norm", reason, model={"batch_norm": True})

    def range_lr(reason: str) -> None:
        if lr is not None and not 0.5 < lr / base_lr < 2:
            add(f"lr {lr:.2g} (range test)", reason, optim={"lr": float(f"{lr:.3g}")})

    def adam(reason: str) -> None:
        if recipe.optim.name not in ("adam", "adamw"):
            add("adam", reason, optim={"name": "adam", "lr": 1e-3})

    kinds = list(dict.fromkeys(kinds))
    if "lr_high" in kinds and "lr_low" in kinds:  # tiny updates of a net the large steps broke
        kinds.remove("lr_low")
    for kind in kinds:
        out = []
        per_kind.append(out)
        if kind in ("vanishing", "saturated"):
            why = f"{kind.replace('_', ' ')}: the gradient does not reach the first layers"
            relu_he(why)
            batch_norm(why)
            init("lsuv", why)
            if recipe.init.name not in FAN_SCALED:
                init("he_normal" if act not in _SATURATING else "glorot_normal", why)
        elif kind == "dying_relu":
            why = "dying relu: units stopped firing and get no gradient"
            if has["activation"] and act in ("relu", "relu6"):
                add("leaky_relu", why, model={"activation": "leaky_relu"})
            add(f"lr {base_lr / 10:.2g}", why, optim={"lr": base_lr / 10})
            init("he_normal", why)
        elif kind in ("nan", "exploding"):
            why = f"{kind}: the steps blow the weights up"
            add("clip_norm 1", why, train={"clip_norm": 1.0})
            add(f"lr {base_lr / 10:.2g}", why, optim={"lr": base_lr / 10})
            if recipe.init.name not in FAN_SCALED:
                init("he_normal" if act not in _SATURATING else "glorot_normal", why)
            batch_norm(why)
        elif kind in ("lr_high", "oscillating"):
            why = f"{kind.replace('_', ' ')}: the steps are too large"
            range_lr(why)
            add(f"lr {base_lr / 10:.2g}", why, optim={"lr": base_lr / 10})
            if recipe.schedule.options.get("warmup", 0) == 0:
                add("warm-up", why, schedule={"name": recipe.schedule.name, "per": "step", "warmup": 100})
        elif kind in ("lr_low", "slow", "chance"):
            why = f"{kind.replace('_', ' ')}: the network learns too slowly or not at all"
            if recipe.init.name not in FAN_SCALED:
                init("he_normal" if act not in _SATURATING else "glorot_normal", why)
            relu_he(why)
            range_lr(why)
            adam(why)
            if kind == "lr_low":
                add(f"lr {base_lr * 10:.2g}", why, optim={"lr": base_lr * 10})
            batch_norm(why)
    if gap is not None and gap > GAP:
        out = []
        per_kind.append(out)
        why = f"overfitting: training accuracy {100 * gap:.0f} points above validation"
        if has["dropout"] and not opts.get("dropout"):
            add("dropout 0.3", why, model={"dropout": 0.3})
        add("l2 1e-4", why, regularize={"l2": 1e-4})
    return _interleave(per_kind, limit)


def step_fixes(recipe: Recipe) -> list[Fix]:
    """The step that usually trains a network once its init and activation are right: Adam at
    each of :data:`ADAM_LRS`, unless the recipe already takes that step (Adam at a learning rate
    within 2× of it).

    >>> [f.label for f in step_fixes(Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}}))]
    ['adam', 'adam lr 0.01']
    >>> [f.label for f in step_fixes(Recipe.from_dict({"optim": {"name": "adam", "lr": 0.01}}))]
    ['adam']
    """
    adam = recipe.optim.name in ("adam", "adamw")
    lr = float(recipe.optim.options.get("lr", 1e-3))
    why = "the step: Adam at the lectures' learning rates, once the network trains"
    return [Fix("adam" if step == 1e-3 else f"adam lr {step:g}", why,
                {"optim": {"name": "adam", "lr": step}})
            for step in ADAM_LRS if not (adam and 0.5 < lr / step < 2)]


def _interleave(per_kind: list[list[Fix]], limit: int) -> list[Fix]:
    """Each symptom's first fix, then each one's second, ...: every symptom gets raced."""
    chosen: list[Fix] = []
    for rank in range(max((len(f) for f in per_kind), default=0)):
        for fixes in per_kind:
            if rank < len(fixes) and all(c.label != fixes[rank].label for c in chosen):
                chosen.append(fixes[rank])
    return chosen[:limit]
