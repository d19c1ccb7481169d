"""Pre-train a recipe's network on its own: the ``trainwell pretrain`` command's library call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainwell.errors import ConfigError
from trainwell.recipe import Recipe

__all__ = ["PRETRAINERS", "PretrainResult", "pretrain_recipe", "save_pretrained"]

PRETRAINERS = ("dbn", "autoencoder", "lsuv")


@dataclass
class PretrainResult:
    """The pre-trained model and the pre-trainer's report (per-layer curves inside)."""

    model: torch.nn.Module
    report: Any


def pretrain_recipe(recipe: Recipe, *, progress: bool = False) -> PretrainResult:
    """Build the recipe's model and run its data-driven ``[init]`` (dbn, autoencoder or lsuv)
    on every training input; no supervised training follows."""
    from trainwell.models import build_model
    from trainwell.pretrain import DATA_INITIALIZERS
    from trainwell.train.device import resolve_device, set_threads
    from trainwell.train.run_recipe import prepare_data

    if recipe.init.name not in PRETRAINERS:
        raise ConfigError("init.name", recipe.init.name,
                          f"a pre-trainer ({', '.join(PRETRAINERS)}) for trainwell pretrain")
    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    dataset = prepare_data(recipe, device)
    torch.manual_seed(recipe.train.seed)
    model = build_model(recipe.model.name, input_shape=dataset.meta.input_shape,
                        num_classes=dataset.meta.num_classes, **recipe.model.options).to(device)
    report = DATA_INITIALIZERS[recipe.init.name](
        model, dataset.all_inputs, progress=progress,
        generator=torch.Generator().manual_seed(recipe.train.seed), **recipe.init.options)
    return PretrainResult(model, report)


def save_pretrained(result: PretrainResult, out: str | Path, *, recipe_toml: str) -> list[Path]:
    """Write the recipe, the pre-trained model's weights and, for a DBN, every RBM."""
    from trainwell._io import atomic_write_text
    from trainwell.train.checkpoint import save_weights

    out = Path(out)
    written = [atomic_write_text(out / "recipe.toml", recipe_toml),
               save_weights(result.model, out / "weights.safetensors")]
    for i, rbm in enumerate(getattr(result.report, "rbms", ()), 1):
        written.append(rbm.save(out / f"rbm-{i}.safetensors"))
    atomic_write_text(out / "report.txt", str(result.report) + "\n")
    return written + [out / "report.txt"]
