"""Pick stored runs by their values: a run's value at a recipe key, and whether it matches a
``where`` filter (``{"init.name": "zeros"}``), as :meth:`Results.runs
<trainwell.results.Results.runs>`, ``trainwell ensemble --where`` and the exports select runs.

A key is an axis of the run's grid point, else a dotted path into its resolved recipe; a value
matches when it is equal, or shown the same (:func:`~trainwell.sweep.format_value`: the
``"uniform(a=-1.0)"`` of a section swept as tables).

>>> from trainwell.run.store_read import RunRow
>>> run = RunRow("x", "e", "zeros", {"init.name": "zeros"}, 0, {"optim": {"lr": 0.1}},
...              "done", None, 1, None, None, None, {}, None, None, None)
>>> run_value(run, "optim.lr"), matches(run, {"init.name": "zeros"}), run_value(run, "a.b")
(0.1, True, <missing>)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainwell.run.store_read import RunRow
from trainwell.sweep import format_value

__all__ = ["run_value", "matches", "MISSING"]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
"""What :func:`run_value` returns for a key a run does not have."""


def run_value(run: RunRow, key: str) -> Any:
    """A run's axis value at ``key``, or else its resolved recipe's value at the dotted path
    ``key`` (:data:`MISSING` when it has none)."""
    if key in run.point:
        return run.point[key]
    node: Any = run.recipe
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def matches(run: RunRow, where: Mapping[str, Any]) -> bool:
    """Whether ``run`` has each ``key``'s value in ``where`` (equal, or shown the same)."""
    for key, wanted in where.items():
        value = run_value(run, key)
        if value is MISSING:
            return False
        if value != wanted and format_value(value) != format_value(wanted):
            return False
    return True
