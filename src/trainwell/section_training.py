"""The training callbacks each section of a recipe adds to a run: one function per section,
given the recipe, the model and the prepared dataset, listed in the registry
(:attr:`SectionSpec.callbacks <trainwell.sections.SectionSpec>`). A section at its default
adds none; each callback runs at its own ``order`` (:data:`trainwell.callback_order.ORDER`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from trainwell.data import Dataset
    from trainwell.recipe import Recipe

__all__ = ["schedule_callbacks", "regularize_callbacks", "augment_callbacks", "ensemble_callbacks",
           "average_callbacks", "transfer_callbacks", "train_callbacks"]


def schedule_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    from trainwell.optim.schedules import LRSchedule

    schedule = recipe.schedule
    if schedule.name == "constant" and schedule.options.get("warmup", 0) <= 0:
        return []
    return [LRSchedule(schedule.name, **schedule.options)]


def regularize_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    from trainwell.regularize.penalties import Penalty

    reg = recipe.regularize
    if reg.l1 > 0 or reg.l2 > 0:
        return [Penalty(l1=reg.l1, l2=reg.l2, include_bias=reg.include_bias)]
    return []


def augment_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    import torch

    from trainwell.data.augment import Augment

    if not recipe.augment.transforms:
        return []
    generator = torch.Generator(device=dataset.device).manual_seed(recipe.train.seed)
    return [Augment(recipe.augment.transforms, generator=generator)]


def ensemble_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    from trainwell.ensemble.snapshots import Snapshots

    snapshots = recipe.ensemble.snapshots
    return [] if snapshots is None else [Snapshots(snapshots)]


def average_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    from trainwell.ensemble.averaging import WeightAverage

    if recipe.average.kind == "none":
        return []
    options = {k: v for k, v in vars(recipe.average).items() if v is not None}
    return [WeightAverage(options.pop("kind"), **options)]


def transfer_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    from trainwell import transfer

    return list(transfer.transfer_callbacks(model, recipe.transfer))


def train_callbacks(recipe: Recipe, model: torch.nn.Module, dataset: Dataset) -> list[Any]:
    """Early stopping, gradient clipping (``clip_norm``), the live monitor (``record_every``,
    ``stop_on``), the gradient-flow recorder (``record_every``) and the step limit
    (``max_steps``)."""
    from trainwell.diagnose import GradientFlowRecorder, Monitor
    from trainwell.loop.callbacks import MaxSteps
    from trainwell.optim.clipping import ClipGradNorm
    from trainwell.regularize.early_stopping import EarlyStopping

    train = recipe.train
    out: list[Any] = []
    if train.early_stopping is not None:
        options = dict(train.early_stopping)
        out.append(EarlyStopping(options.pop("metric"), **options))
    if train.clip_norm is not None:
        out.append(ClipGradNorm(train.clip_norm))
    if train.record_every > 0 or train.stop_on:
        out.append(Monitor(every=train.record_every or 50, stop_on=train.stop_on or ()))
    if train.record_every > 0:
        out.append(GradientFlowRecorder(every=train.record_every))
    if train.max_steps is not None:
        out.append(MaxSteps(train.max_steps))
    return out
