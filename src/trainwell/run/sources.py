"""Transfer sources in a sweep: recipes trained first, once, and the weights every target gets.

A target whose ``[transfer] from`` is a recipe names it in full (so the target's run id holds
the source's); the driver runs every distinct source recipe first, as a run of its own in the
experiment ``<experiment>-source`` beside the targets' (finished sources are skipped, like any
finished run), then reads the weights of each target's source, from that run's folder or from
the run folder or weights file the target names, and sends them with the target's task: no
worker needs to see the source's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from trainwell.errors import TrainwellError
from trainwell.run.store import RunSpec
from trainwell.sweep import run_id

__all__ = ["source_specs", "transfer_weights"]


def _transfer(recipe: dict[str, Any]) -> dict[str, Any]:
    table = recipe.get("transfer")
    return table if isinstance(table, dict) else {}


def source_specs(specs: list[RunSpec], experiment: str) -> list[RunSpec]:
    """The distinct source recipes of ``specs``, as runs of ``experiment``."""
    found: dict[str, dict[str, Any]] = {}
    for spec in specs:
        src = _transfer(spec.recipe).get("from")
        if isinstance(src, dict):
            found.setdefault(run_id(src), src)
    out = []
    for i, (rid, src) in enumerate(found.items(), start=1):
        label = str(src.get("name") or f"source {i}")
        out.append(RunSpec(id=rid, experiment=experiment, label=label,
                           point={"source": label} if len(found) > 1 else {},
                           seed=int(src.get("train", {}).get("seed", 0)), recipe=src))
    return out


def transfer_weights(specs: list[RunSpec], root: Path
                     ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, str]]:
    """The source weights of each spec that transfers (by spec id), and for the specs whose
    source cannot be read, why (by spec id)."""
    from trainwell.recipe import Recipe
    from trainwell.transfer.apply import source_weights
    from trainwell.transfer.source import read_weights

    weights: dict[str, dict[str, torch.Tensor]] = {}
    errors: dict[str, str] = {}
    cache: dict[str, dict[str, torch.Tensor] | str] = {}
    for spec in specs:
        table = _transfer(spec.recipe)
        src = table.get("from")
        if src is None:
            continue
        kind = table.get("weights", "final")
        if isinstance(src, dict):
            folder = root / f"{spec.experiment}-source" / run_id(src)
            key = str(folder / kind)
        else:
            key = f"{src}:{kind}:{table.get('digest')}"
        if key not in cache:
            try:
                if isinstance(src, dict):
                    name = "averaged.safetensors" if kind == "averaged" else "weights.safetensors"
                    if not (folder / name).is_file():
                        raise TrainwellError(f"the transfer source run {run_id(src)} has no "
                                             f"{name}: it did not finish (see {str(folder)!r})")
                    cache[key] = read_weights(folder / name)
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
