"""What the runs of an experiment trained on, for the report: each dataset once, with its
source, input shape and the names of its classes.

The store keeps each run's :meth:`~trainwell.data.DatasetMeta.record` (``RunRow.data``): name,
source, input shape, number of classes and their names (an image folder's subfolders, an
array's string labels, or the class ids). Runs on the same data share one entry; a run from a
store written before the record was kept adds none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trainwell.run.store_read import RunRow

__all__ = ["dataset_views", "MAX_NAMES"]

MAX_NAMES = 40
"""Class names shown per dataset; a longer list ends with how many more there are."""


def dataset_views(runs: Sequence[RunRow]) -> list[dict[str, Any]]:
    """One entry per distinct dataset the ``runs`` recorded, in the order first seen:
    ``{"name", "source", "shape", "num_classes", "classes", "more", "runs"}``; ``classes``
    holds at most :data:`MAX_NAMES` names, ``more`` how many were left out.

    >>> from trainwell.run.store_read import RunRow
    >>> run = RunRow(id="a", experiment="e", label="x", point={}, seed=0, recipe={},
    ...              status="done", error=None, attempts=1, started=None, finished=None,
    ...              seconds=None, final={}, diverged_step=None, stop_reason=None,
    ...              verdicts=None, data={"name": "arrays", "source": "pets.npz",
    ...              "input_shape": [3, 8, 8], "num_classes": 2, "classes": ["cat", "dog"]})
    >>> view = dataset_views([run, run])[0]
    >>> view["classes"], view["shape"], view["runs"]
    (['cat', 'dog'], '3 x 8 x 8', 2)
    """
    views: dict[str, dict[str, Any]] = {}
    for run in runs:
        data = run.data
        if not isinstance(data, dict):
            continue
        names = [str(c) for c in data.get("classes") or []]
        shape = data.get("input_shape") or []
        key = repr((data.get("name"), data.get("source"), shape, names))
        if key in views:
            views[key]["runs"] += 1
            continue
        views[key] = {"name": str(data.get("name") or ""), "source": str(data.get("source") or ""),
                      "shape": " x ".join(str(d) for d in shape),
                      "num_classes": data.get("num_classes") or len(names),
                      "classes": names[:MAX_NAMES], "more": max(0, len(names) - MAX_NAMES),
                      "runs": 1}
    return list(views.values())
