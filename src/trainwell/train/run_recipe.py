"""A run is a pure function of (recipe, seed): data → model → init → optimizer → fit."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from trainwell.data import Dataset, load_dataset
from trainwell.errors import ConfigError, TrainwellError
from trainwell.init import apply_ as init_apply_
from trainwell.models import build_model
from trainwell.optim import build_optimizer
from trainwell.optim.optimizers import needs_closure
from trainwell.optim.schedules import LRSchedule
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe
from trainwell.train.device import resolve_device, set_threads
from trainwell.train.events import Callback
from trainwell.train.history import History
from trainwell.train.trainer import fit

__all__ = ["RunResult", "run_recipe", "prepare_data", "build_initialized_model", "final_verdicts"]


@dataclass
class RunResult:
    """The trained model (``None`` if it could not be built), its history and data."""

    recipe: Recipe
    history: History
    model: torch.nn.Module | None
    dataset: Dataset | None


def prepare_data(recipe: Recipe, device: torch.device) -> Dataset:
    """The recipe's dataset, on ``device``."""
    return load_dataset(recipe.data.name, **recipe.data.options).to(device)


def build_initialized_model(recipe: Recipe, dataset: Dataset, device: torch.device) -> torch.nn.Module:
    """Build the recipe's model for ``dataset`` and initialize it; seeds torch first."""
    return _build_and_initialize(recipe, dataset, device)[0]


def _build_and_initialize(recipe: Recipe, dataset: Dataset, device: torch.device
                          ) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """The initialized model and, for a data-driven scheme, a summary of what it did."""
    torch.manual_seed(recipe.train.seed)
    model = build_model(recipe.model.name, input_shape=dataset.meta.input_shape,
                        num_classes=dataset.meta.num_classes, **recipe.model.options).to(device)
    data_init = DATA_INITIALIZERS.get(recipe.init.name)
    if data_init is None:
        init_apply_(model, recipe.init.name, **recipe.init.options)
        return model, None
    started = time.perf_counter()
    report = data_init(model, dataset.all_inputs, **recipe.init.options,
                       generator=torch.Generator().manual_seed(recipe.train.seed))
    return model, {"name": recipe.init.name, "seconds": time.perf_counter() - started,
                   "report": str(report)}


def run_recipe(recipe: Recipe, *, callbacks: Iterable[Callback] = (),
               dataset: Dataset | None = None) -> RunResult:
    """Train ``recipe`` and return the result; never raises for a run that fails.

    Bad input (:class:`TrainwellError`) is raised, since nothing ran; an exception during
    training is caught and recorded as status ``failed`` with its traceback.
    """
    set_threads(recipe.train.threads)
    device = resolve_device(recipe.train.device)
    if dataset is None:
        dataset = prepare_data(recipe, device)
    model, init_summary = _build_and_initialize(recipe, dataset, device)
    optimizer = build_optimizer(recipe.optim.name, model.parameters(), **recipe.optim.options)
    if needs_closure(optimizer) and recipe.train.batch_size < len(dataset.x_train):
        raise ConfigError("train.batch_size", recipe.train.batch_size,
                          f"at least the training set's {len(dataset.x_train)} samples with "
                          f"optim.name = {recipe.optim.name!r}: its line search compares losses "
                          "of one function, which minibatch noise would change between steps")
    callbacks = list(callbacks)
    schedule = recipe.schedule
    if schedule.name != "constant" or schedule.options.get("warmup", 0) > 0:
        callbacks.append(LRSchedule(schedule.name, **schedule.options))
    recorder = None
    if recipe.train.record_every > 0:
        from trainwell.diagnose import GradientFlowRecorder  # diagnose builds on train

        recorder = GradientFlowRecorder(every=recipe.train.record_every)
        callbacks.append(recorder)
    generator = torch.Generator().manual_seed(recipe.train.seed)
    try:
        history = fit(model, dataset, optimizer, epochs=recipe.train.epochs,
                      batch_size=recipe.train.batch_size, eval_every=recipe.train.eval_every,
                      callbacks=callbacks, generator=generator)
        if recorder is not None:
            history.extra["gradient_flow"] = recorder.to_dict()
            history.extra["verdicts"] = final_verdicts(model, dataset, seed=recipe.train.seed)
    except TrainwellError:
        raise
    except Exception as exc:  # a run that fails is recorded, never lost
        history = History.failed(exc)
    if init_summary is not None:
        history.extra["init"] = init_summary
    return RunResult(recipe=recipe, history=history, model=model, dataset=dataset)


def final_verdicts(model: torch.nn.Module, dataset: Dataset, *, seed: int) -> list[dict[str, str]]:
    """The diagnosis of the trained model on a seeded training batch, as plain dicts."""
    from trainwell.diagnose import diagnose, diagnose_batch

    xb, yb = diagnose_batch(dataset.x_train, dataset.y_train, seed=seed)
    return [{"kind": v.kind, "message": v.message, "fix": v.fix}
            for v in diagnose(model, xb, yb).verdicts]
