"""Transfer sources in a sweep: the weights every target gets, read by the driver.

A target whose ``[transfer] from`` is a recipe names it in full (so the target's run id holds
the source's); the plan makes every distinct source recipe a run of its own
(:attr:`~trainwell.plan.Plan.sources`), which the driver runs first. Then it reads the weights
of each target's source, from that run's folder or from the run folder or weights file the
target names, and sends them with the target's task: no worker needs to see the source's
folder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from trainwell.errors import TrainwellError
from trainwell.plan import RunSpec
from trainwell.run_folder import RunFolder
from trainwell.sweep import run_id

__all__ = ["transfer_weights"]


def transfer_weights(specs: list[RunSpec], source_folder: Callable[[str], RunFolder]
                     ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, str]]:
    """The source weights of each spec that transfers (by spec id), and for the specs whose
    source cannot be read, why (by spec id). ``source_folder``: the folder of a source run,
    by its id."""
    from trainwell.recipe import Recipe
    from trainwell.transfer.apply import source_weights
    from trainwell.transfer.source import read_weights

    weights: dict[str, dict[str, torch.Tensor]] = {}
    errors: dict[str, str] = {}
    cache: dict[str, dict[str, torch.Tensor] | str] = {}
    for spec in specs:
        table: dict[str, Any] = spec.recipe.get("transfer") or {}
        src = table.get("from")
        if src is None:
            continue
        kind = table.get("weights", "final")
        key = repr((src, kind, table.get("digest")))
        if key not in cache:
            try:
                if isinstance(src, dict):
                    folder = source_folder(run_id(src))
                    if not folder.weights(kind).is_file():
                        raise TrainwellError(f"the transfer source run {run_id(src)} has no "
                                             f"{folder.weights(kind).name}: it did not finish "
                                             f"(see {str(folder.path)!r})")
                    cache[key] = read_weights(folder.weights(kind))
                else:
                    cache[key] = source_weights(Recipe.from_dict(spec.recipe).transfer)
            except TrainwellError as exc:
                cache[key] = str(exc)
        got = cache[key]
        if isinstance(got, str):
            errors[spec.id] = got
        else:
            weights[spec.id] = got
    return weights, errors
