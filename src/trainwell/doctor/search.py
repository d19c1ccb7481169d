"""The doctor's search: rounds of fixes, each screened on a short budget on top of the best
recipe so far, as AutoTrainer repairs in turn.

Round 1 screens the fixes for the symptoms the first run showed. Each later round starts from
the round's leader and screens the step that usually trains a network once its init and
activation are right (:func:`~trainwell.doctor.fixes.step_fixes`: Adam), the leader combined
with the round's runner-up (two fixes together, such as He init and a lower learning rate), and
the fixes for the symptoms the leader's own run still shows. The search ends when a round finds
nothing better than its leader, or after ``rounds``. Every candidate gets the same budget, and
the leader is the best on validation (never the test set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trainwell.doctor.fixes import Fix, propose_fixes, step_fixes
from trainwell.recipe import Recipe

__all__ = ["Screened", "search", "combine", "then"]


@dataclass(frozen=True)
class Screened:
    """A screened recipe: its label (the fixes joined by ``"; "``), reason, the full-budget
    recipe dict it stands for, the fix that made it from its round's base, and the result."""

    label: str
    reason: str
    recipe: dict[str, Any]
    fix: Fix
    result: Any


def combine(first: Fix, second: Fix) -> Fix | None:
    """``second`` as a fix on top of ``first``, or ``None`` when they set the same key (the
    second would undo the first).

    >>> combine(Fix("he_normal", "", {"init": {"name": "he_normal"}}),
    ...         Fix("lr 0.01", "", {"optim": {"lr": 0.01}})).changes
    {'optim': {'lr': 0.01}}
    >>> combine(Fix("a", "", {"optim": {"lr": 0.1}}), Fix("b", "", {"optim": {"lr": 0.01}})) is None
    True
    """
    for section, table in second.changes.items():
        if set(table) & set(first.changes.get(section, {})):
            return None
    return second


def then(first: Fix, second: Fix) -> Fix:
    """``first`` and then ``second`` as one fix (``second`` wins where both set a key).

    >>> then(Fix("batch_norm", "", {"model": {"batch_norm": True}}),
    ...      Fix("adam", "", {"optim": {"name": "adam"}})).label
    'batch_norm; adam'
    """
    changes = {section: {**first.changes.get(section, {}), **second.changes.get(section, {})}
               for section in {**first.changes, **second.changes}}
    return Fix(f"{first.label}; {second.label}", first.reason, changes)


def search(base: dict[str, Any], symptoms: Sequence[str], *, screen: Callable[..., list[Any]],
           apply: Callable[[dict[str, Any], Fix], dict[str, Any]],
           resolve: Callable[[dict[str, Any]], Recipe],
           symptoms_of: Callable[[Any], list[str]], rank: Callable[[Any], Any],
           lr: float | None = None, gap: float | None = None, limit: int = 4,
           rounds: int = 2) -> tuple[list[Screened], Screened | None]:
    """Screen rounds of fixes from ``base``; return every screened recipe and the leader.

    ``screen(base, fixes)`` trains each fix on top of ``base`` with the short budget and returns
    their results in order; ``apply(base, fix)`` is the full recipe dict; ``symptoms_of`` reads a
    result's symptoms and ``rank`` orders results (higher is better). Each round tries at most
    ``limit`` fixes."""
    pool: list[Screened] = []
    leader: Screened | None = None
    others: list[Screened] = []
    current, found = base, list(symptoms)
    for _ in range(rounds):
        now = resolve(current)
        chain = set(leader.label.split("; ")) if leader is not None else set()
        if leader is None:
            proposed = propose_fixes(now, found, lr=lr, gap=gap, limit=limit)
        else:
            steps = step_fixes(now)
            pair = next((f for s in others if (f := combine(leader.fix, s.fix)) is not None), None)
            paired = [] if pair is None else [
                *(then(pair, step) for step in steps if not set(pair.changes) & set(step.changes))] or [pair]
            proposed = [*steps, *paired, *propose_fixes(now, found, limit=limit)]
        seen = [s.recipe for s in pool]  # a recipe screened before is not screened again
        fixes = [f for f in dict((f.label, f) for f in proposed).values()
                 if f.label not in chain and apply(current, f) not in seen][:limit]
        if not fixes:
            break
        results = screen(current, [Fix(_join(leader, f.label), f.reason, f.changes) for f in fixes])
        round_pool = [Screened(_join(leader, f.label), f.reason, apply(current, f), f, r)
                      for f, r in zip(fixes, results, strict=True)]
        pool += round_pool
        ordered = sorted(round_pool, key=lambda s: rank(s.result), reverse=True)
        if leader is not None and rank(ordered[0].result) <= rank(leader.result):
            break
        leader, others = ordered[0], ordered[1:]
        current, found = leader.recipe, symptoms_of(leader.result)
    return pool, leader


def _join(leader: Screened | None, label: str) -> str:
    """A fix's label on top of the fixes before it: ``"relu + he_normal; adam"``."""
    return label if leader is None else f"{leader.label}; {label}"
