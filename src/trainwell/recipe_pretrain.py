"""A recipe's hidden layers pre-trained alone (``trainwell pretrain``): its data-driven
``[init]`` (a DBN's RBMs, stacked auto-encoders, LSUV) on every training input, no supervised
training after, saved as a folder a ``[transfer]`` can start from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainwell._io import atomic_write_text
from trainwell.errors import ConfigError
from trainwell.execute import build_model_for, prepare_data
from trainwell.loop import resolve_device, save_weights, set_threads
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe
from trainwell.run_folder import RunFolder

__all__ = ["pretrain_recipe", "save_pretrained", "PretrainResult"]


@dataclass
class PretrainResult:
    """The pre-trained model and the pre-trainer's report (per-layer curves inside)."""

    model: torch.nn.Module
    report: Any


def pretrain_recipe(recipe: Recipe, *, progress: bool = False) -> PretrainResult:
    """Build the recipe's model and run its data-driven ``[init]`` (dbn, autoencoder or lsuv)
    on every training input; no supervised training follows."""
    if recipe.init.name not in DATA_INITIALIZERS:
        raise ConfigError("init.name", recipe.init.name, f"a pre-trainer "
                          f"({', '.join(DATA_INITIALIZERS)}) for trainwell pretrain")
    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    dataset = prepare_data(recipe, device)
    model = build_model_for(recipe, dataset, device)
    report = DATA_INITIALIZERS[recipe.init.name](
        model, dataset.all_inputs, progress=progress,
        generator=torch.Generator().manual_seed(recipe.train.seed), **recipe.init.options)
    return PretrainResult(model, report)


def save_pretrained(result: PretrainResult, out: str | Path, *, recipe_toml: str) -> list[Path]:
    """Write the recipe, the pre-trained model's weights and, for a DBN, every RBM."""
    out = Path(out)
    folder = RunFolder(out)
    written = [atomic_write_text(folder.recipe, recipe_toml),
               save_weights(result.model, folder.weights("final"))]
    for i, rbm in enumerate(getattr(result.report, "rbms", ()), 1):
        written.append(rbm.save(out / f"rbm-{i}.safetensors"))
    atomic_write_text(out / "report.txt", str(result.report) + "\n")
    return written + [out / "report.txt"]
