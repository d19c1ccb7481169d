"""A run's parts before it trains: the recipe's data on the run's device, checked against the
recipe, and its model, built and initialized the same way in every process."""

from __future__ import annotations

import time
from typing import Any

import torch

from trainwell.data import Dataset, load_dataset
from trainwell.data.augment import check_transforms
from trainwell.data.tta import input_kind, view_plan
from trainwell.ensemble.snapshots import check_cycles
from trainwell.errors import ConfigError
from trainwell.init import apply_ as init_apply_
from trainwell.loop.speed import check_channels_last_input
from trainwell.models import build_model
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe

__all__ = ["prepare_data", "check_runnable", "build_model_for", "build_initialized_model",
           "initialize", "flip_at_test", "build_to_train"]


def prepare_data(recipe: Recipe, device: torch.device) -> Dataset:
    """The recipe's dataset, on ``device``."""
    return load_dataset(recipe.data.name, **recipe.data.options).to(device)


def check_runnable(recipe: Recipe, dataset: Dataset) -> None:
    """Raise :class:`ConfigError` for a recipe that cannot train on ``dataset`` at all."""
    shape = tuple(dataset.x_train.shape[1:])
    check_transforms(recipe.augment.transforms, shape)
    views, crop = recipe.augment.test_views, recipe.augment.test_crop
    if crop is not None and input_kind(shape) != "image":
        raise ConfigError("augment.test_crop", crop, f"images (C, H, W): crops are views of "
                          f"images, and the data's samples are shaped {shape}")
    if views > 1:
        try:
            view_plan(input_kind(shape) or "image", views, shape, flip=flip_at_test(recipe))
        except ConfigError as exc:
            raise ConfigError("augment.test_views", views, exc.allowed) from None
    if recipe.ensemble.snapshots is not None:
        steps = -(-len(dataset.x_train) // recipe.train.batch_size)
        check_cycles(recipe.train.epochs * max(1, steps), recipe.ensemble.snapshots)
    if recipe.train.channels_last:
        check_channels_last_input(shape)
    if recipe.optim.name == "lbfgs" and recipe.train.batch_size < len(dataset.x_train):
        raise ConfigError("train.batch_size", recipe.train.batch_size,
                          f"at least the training set's {len(dataset.x_train)} samples with "
                          f"optim.name = {recipe.optim.name!r}: its line search compares losses "
                          "of one function, which minibatch noise would change between steps")


def build_initialized_model(recipe: Recipe, dataset: Dataset, device: torch.device) -> torch.nn.Module:
    """Build the recipe's model for ``dataset`` and initialize it; seeds torch first."""
    model = build_model_for(recipe, dataset, device)
    initialize(model, recipe, dataset)
    return model


def build_to_train(recipe: Recipe, dataset: Dataset | None = None
                   ) -> tuple[Dataset, torch.nn.Module, torch.optim.Optimizer]:
    """What a tool that trains the recipe outside a run needs (``trainwell diagnose``,
    ``trainwell lr-find``): the recipe's threads set, its data on its device (``dataset``: the
    recipe's, already prepared there), its model built and initialized, and a fresh optimizer
    of its ``[optim]``."""
    from trainwell.loop import resolve_device, set_threads
    from trainwell.optim import build_optimizer

    set_threads(recipe.train.threads)
    device = dataset.device if dataset is not None else resolve_device(recipe.train.device)
    dataset = dataset if dataset is not None else prepare_data(recipe, device)
    model = build_initialized_model(recipe, dataset, device)
    return dataset, model, build_optimizer(recipe.optim.name, model.parameters(),
                                           **recipe.optim.options)


def build_model_for(recipe: Recipe, dataset: Dataset, device: torch.device) -> torch.nn.Module:
    """The recipe's model for ``dataset``, on ``device``, as built (not yet initialized by the
    recipe's scheme); seeds torch first, so the build is the same in every process."""
    torch.manual_seed(recipe.train.seed)
    return build_model(recipe.model.name, input_shape=dataset.meta.input_shape,
                       num_classes=dataset.meta.num_classes, **recipe.model.options).to(device)


def initialize(model: torch.nn.Module, recipe: Recipe, dataset: Dataset) -> dict[str, Any] | None:
    """Initialize ``model`` in place; for a data-driven scheme, a summary of what it did."""
    data_init = DATA_INITIALIZERS.get(recipe.init.name)
    if data_init is None:
        init_apply_(model, recipe.init.name, **recipe.init.options)
        return None
    started = time.perf_counter()
    report = data_init(model, dataset.all_inputs, **recipe.init.options,
                       generator=torch.Generator().manual_seed(recipe.train.seed))
    return {"name": recipe.init.name, "seconds": time.perf_counter() - started,
            "report": str(report)}


def flip_at_test(recipe: Recipe) -> bool:
    """Mirror views at test time only for a model trained on mirrored inputs (a mirrored digit
    is another shape; a mirrored photo is the same class)."""
    return any(t["name"] == "hflip" for t in recipe.augment.transforms)
