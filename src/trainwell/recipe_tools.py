"""One recipe, looked at without a full run: its network probed at initialization or after a
few steps (``trainwell diagnose``), its hidden layers pre-trained alone (``trainwell pretrain``),
or its transfer source trained first (``trainwell train``), or its learning rate found by a
range test (``trainwell lr-find``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainwell._io import atomic_write_text
from trainwell.diagnose import DIAGNOSE_BATCH, Diagnosis, diagnose, diagnose_batch
from trainwell.errors import ConfigError
from trainwell.execute import build_initialized_model, build_model_for, check_runnable, prepare_data
from trainwell.loop import (
    Callback,
    History,
    StopTraining,
    TrainState,
    fit,
    resolve_device,
    save_weights,
    set_threads,
)
from trainwell.optim import build_optimizer
from trainwell.optim.lr_find import LRFind, lr_find
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe

__all__ = ["diagnose_recipe", "RecipeDiagnosis", "pretrain_recipe", "save_pretrained", "PretrainResult",
           "train_source", "lr_find_recipe"]


@dataclass
class RecipeDiagnosis:
    """The diagnosis, the history of the steps trained before it (if any) and their count."""

    diagnosis: Diagnosis
    history: History | None
    steps: int


class _StopAfter(Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def after_step(self, state: TrainState) -> None:
        if state.step + 1 >= self.steps:
            raise StopTraining(f"diagnosis after {self.steps} steps")


def diagnose_recipe(recipe: Recipe, *, after_steps: int = 0,
                    batch_size: int = DIAGNOSE_BATCH) -> RecipeDiagnosis:
    """Build and initialize the recipe's model, train ``after_steps`` optimizer steps (0: none),
    then probe one seeded batch of training data and judge it.

    >>> d = diagnose_recipe(Recipe.from_dict({"data": {"name": "digits"},
    ...                                       "init": {"name": "zeros"}}))
    >>> "symmetric" in [v.kind for v in d.diagnosis.verdicts]
    True
    """
    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    dataset = prepare_data(recipe, device)
    model = build_initialized_model(recipe, dataset, device)
    optimizer = build_optimizer(recipe.optim.name, model.parameters(), **recipe.optim.options)
    history = None
    if after_steps > 0:
        check_runnable(recipe, dataset)
        per_epoch = math.ceil(len(dataset.x_train) / recipe.train.batch_size)
        history = fit(model, dataset, optimizer, epochs=math.ceil(after_steps / per_epoch),
                      batch_size=recipe.train.batch_size, eval_every=0,
                      callbacks=[_StopAfter(after_steps)],
                      generator=torch.Generator().manual_seed(recipe.train.seed))
    xb, yb = diagnose_batch(dataset.x_train, dataset.y_train, seed=recipe.train.seed,
                            size=batch_size)
    steps = len(history.step_loss) if history is not None else 0
    return RecipeDiagnosis(diagnose(model, xb, yb, optimizer=optimizer), history, steps)


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
    written = [atomic_write_text(out / "recipe.toml", recipe_toml),
               save_weights(result.model, out / "weights.safetensors")]
    for i, rbm in enumerate(getattr(result.report, "rbms", ()), 1):
        written.append(rbm.save(out / f"rbm-{i}.safetensors"))
    atomic_write_text(out / "report.txt", str(result.report) + "\n")
    return written + [out / "report.txt"]


def train_source(recipe: Recipe, folder: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The weights of ``recipe``'s ``[transfer]`` source for a single run (``trainwell
    train``): a source on disk is read; a source recipe is trained first, as a run of its own
    written to ``folder`` (``<out>/source``) when given, and reused from there while its recipe
    is unchanged."""
    from trainwell import _toml
    from trainwell.execute import train_source_run, transfer_source
    from trainwell.loop import save_run
    from trainwell.sweep import run_id
    from trainwell.transfer import read_weights

    config = recipe.transfer
    if not isinstance(config.source, dict) or folder is None:
        return transfer_source(recipe)
    out = Path(folder)
    name = "averaged.safetensors" if config.weights == "averaged" else "weights.safetensors"
    if (out / "recipe.toml").is_file() and (out / name).is_file():
        kept = _toml.read(out / "recipe.toml", what="transfer source recipe")
        if run_id(kept) == run_id(config.source):
            return read_weights(out / name)
    source, run, weights = train_source_run(recipe)
    save_run(out, recipe_toml=source.to_toml(), history=run.history, weights=run.weights,
             artifacts=run.artifacts)
    return weights


def lr_find_recipe(recipe: Recipe, *, steps: int = 100, start_lr: float = 1e-7,
                   end_lr: float = 10.0) -> LRFind:
    """The learning-rate range test (:func:`~trainwell.optim.lr_find`) on the recipe's model,
    initialized as the recipe says, with its optimizer and batch size on its training data.

    >>> found = lr_find_recipe(Recipe.from_dict({"data": {"name": "digits"}}), steps=30)
    >>> 1e-7 <= found.suggestion <= 10
    True
    """
    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    dataset = prepare_data(recipe, device)
    model = build_initialized_model(recipe, dataset, device)
    optimizer = build_optimizer(recipe.optim.name, model.parameters(), **recipe.optim.options)
    return lr_find(model, optimizer, dataset.x_train, dataset.y_train, steps=steps,
                   start_lr=start_lr, end_lr=end_lr, batch_size=recipe.train.batch_size,
                   generator=torch.Generator().manual_seed(recipe.train.seed))
