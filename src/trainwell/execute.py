"""One run, end to end: ``execute(recipe) -> RunOutcome``, the one place that wires the layers.

A run is a pure function of its recipe (seed included):

1. prepare the data on the run's device;
2. build the model and initialize it (a static scheme, or one learned from the data);
3. train it (:func:`trainwell.loop.fit`), recording per-layer gradient flow;
4. judge the trained network (:mod:`trainwell.diagnose`).

It writes nothing: everything the run produced comes back in a :class:`RunOutcome` (status,
history, final metrics, verdicts, gradient flow, weights as CPU tensors, and ``artifacts`` for
what other capabilities add), so any backend can carry it to the one process that writes the
store. Failure boundary: a run that could not be built, initialized or trained is ``failed``
with its error and the phase it failed in; it never raises (Ctrl-C aside). A diagnosis that
fails leaves a trained run ``done``, with no verdicts and the reason in
``history.diagnosis_error``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from trainwell.data import Dataset, load_dataset
from trainwell.data.augment import check_transforms
from trainwell.data.tta import input_kind, view_plan
from trainwell.diagnose import GradientFlowRecorder, diagnose, diagnose_batch
from trainwell.diagnose.verdicts import agree_with_outcome, not_trained
from trainwell.ensemble.averaging import WeightAverage
from trainwell.ensemble.predictions import finish
from trainwell.ensemble.snapshots import Snapshots, check_cycles
from trainwell.errors import ConfigError, TrainwellError
from trainwell.init import apply_ as init_apply_
from trainwell.loop import (
    Callback,
    Checkpoint,
    Checkpoints,
    History,
    TensorBoardLogger,
    fit,
    latest_checkpoint,
    resolve_device,
    set_threads,
)
from trainwell.loop.speed import check_channels_last_input, to_channels_last
from trainwell.models import build_model
from trainwell.optim import build_optimizer
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe
from trainwell.sections import section_callbacks
from trainwell.transfer import source_weights, start_from, transfer_params

__all__ = ["RunOutcome", "execute", "resume_point", "transfer_source", "prepare_data",
           "build_model_for", "build_initialized_model", "check_runnable",
           "final_verdicts"]


_C = TypeVar("_C")


@dataclass
class RunOutcome:
    """Everything one run produced; small enough to send between processes.

    ``weights`` is the final ``state_dict`` on the CPU (``None`` when the run failed);
    ``device`` where the run trained; ``worker`` which process (``host:pid``, and the Ray
    node when there is one); ``artifacts`` named groups of tensors, each written as
    ``<name>.safetensors`` in the run's folder: ``predictions`` (validation and test-set
    probabilities, :mod:`trainwell.ensemble.predictions`), ``averaged`` and
    ``snapshots/snapshot-<k>`` (weights). ``model`` is kept only when asked for, in-process.
    """

    recipe: Recipe
    history: History
    weights: dict[str, torch.Tensor] | None = None
    device: str = "cpu"
    worker: str = ""
    artifacts: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    model: torch.nn.Module | None = None

    @property
    def status(self) -> str:
        return self.history.status


def prepare_data(recipe: Recipe, device: torch.device) -> Dataset:
    """The recipe's dataset, on ``device``."""
    return load_dataset(recipe.data.name, **recipe.data.options).to(device)


def check_runnable(recipe: Recipe, dataset: Dataset) -> None:
    """Raise :class:`ConfigError` for a recipe that cannot train on ``dataset`` at all."""
    shape = tuple(dataset.x_train.shape[1:])
    check_transforms(recipe.augment.transforms, shape)
    views = recipe.augment.test_views
    if views > 1:
        try:
            view_plan(input_kind(shape) or "image", views, shape, flip=_test_flip(recipe))
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
    _initialize(model, recipe, dataset)
    return model


def build_model_for(recipe: Recipe, dataset: Dataset, device: torch.device) -> torch.nn.Module:
    """The recipe's model for ``dataset``, on ``device``, as built (not yet initialized by the
    recipe's scheme); seeds torch first, so the build is the same in every process."""
    torch.manual_seed(recipe.train.seed)
    return build_model(recipe.model.name, input_shape=dataset.meta.input_shape,
                       num_classes=dataset.meta.num_classes, **recipe.model.options).to(device)


def _initialize(model: torch.nn.Module, recipe: Recipe, dataset: Dataset) -> dict[str, Any] | None:
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


def execute(recipe: Recipe, *, callbacks: Iterable[Callback] = (), dataset: Dataset | None = None,
            device: str | None = None, keep_model: bool = False,
            source: Mapping[str, torch.Tensor] | None = None,
            checkpoint_dir: str | Path | None = None, resume: bool = False,
            log_dir: str | Path | None = None) -> RunOutcome:
    """Run ``recipe`` and return its :class:`RunOutcome`; never raises for a run that fails.

    ``dataset`` skips loading (it must be the recipe's, on ``device``); ``device`` overrides
    ``train.device`` (a backend's placement: it does not change the recipe, nor the run id);
    ``keep_model`` keeps the trained model on the outcome. ``source``: the weights of the
    recipe's ``[transfer]`` source (without them, a source on disk is read, and a source recipe
    is trained here first: :func:`transfer_source`).

    ``checkpoint_dir``: with ``train.checkpoint_every`` set, the run writes its checkpoints
    there (``execute`` writes them only when given this folder, and nothing else); with
    ``resume``, it continues from the newest good one (:func:`resume_point`) if there is one,
    bit-identical on the CPU to the run uninterrupted, and records
    ``history.resumed_from`` (the epoch). Without a good checkpoint it starts from
    scratch. The model is still built and initialized first (a data-driven initializer runs
    again), then the checkpoint's weights replace the initial ones.

    ``log_dir``: with ``train.log_to = "tensorboard"``, the run writes TensorBoard events there
    as it trains (:class:`~trainwell.loop.tensorboard.TensorBoardLogger`); without the folder it
    logs nothing, as with checkpoints: the caller that owns the run's folder names it.

    >>> out = execute(Recipe.from_dict({"data": {"name": "digits"}, "train": {"epochs": 1}}))
    >>> out.status, sorted(out.history.final)[:2]
    ('done', ['test_acc', 'test_loss'])
    """
    set_threads(recipe.train.threads)
    phase = "prepare"
    model: torch.nn.Module | None = None
    where = device or recipe.train.device
    with _deterministic(recipe.train.deterministic, where):
        try:
            dev = resolve_device(where)
            data = dataset if dataset is not None else prepare_data(recipe, dev)
            check_runnable(recipe, data)
            phase = "build"
            model = build_model_for(recipe, data, dev)
            phase = "initialize"
            init_summary = _initialize(model, recipe, data)
            transferred = None
            if recipe.transfer.source is not None:
                phase = "transfer"
                weights = source if source is not None else transfer_source(recipe)
                transferred = start_from(model, recipe.transfer, weights)
            if recipe.train.channels_last:  # after initialization: the same initial weights
                to_channels_last(model)
            phase = "train"
            history, artifacts = _train(recipe, model, data, callbacks, checkpoint_dir, resume,
                                        log_dir)
        except Exception as exc:  # a run that fails is recorded, never lost
            history = History.failed(exc, phase=phase)
            return RunOutcome(recipe, history, device=str(where))
    history.init, history.transfer = init_summary, transferred
    history.data = data.meta.record()
    if recipe.train.record_every > 0 and history.status != "failed":
        try:
            history.verdicts = final_verdicts(model, data, seed=recipe.train.seed,
                                              history=history, init=recipe.init.name)
        except Exception as exc:  # a trained run stays trained: only its verdict is missing
            history.diagnosis_error = f"{type(exc).__name__}: {exc}"
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    return RunOutcome(recipe, history, weights=weights, device=str(dev), artifacts=artifacts,
                      model=model if keep_model else None)


def resume_point(recipe: Recipe, folder: str | Path) -> Checkpoint | None:
    """The newest good checkpoint in ``folder`` (``None``: there is none) to resume ``recipe``
    from; a checkpoint written for another recipe raises :class:`ConfigError` naming the first
    setting that differs (``train.checkpoint_every``, ``threads`` and ``device`` may)."""
    return latest_checkpoint(folder, meta=_checkpoint_meta(recipe))


def _checkpoint_meta(recipe: Recipe) -> dict[str, Any]:
    resolved = recipe.to_dict()
    for key in ("checkpoint_every", "threads", "device", "log_to"):
        resolved.get("train", {}).pop(key, None)
    return resolved


def _train(recipe: Recipe, model: torch.nn.Module, dataset: Dataset,
           callbacks: Iterable[Callback], checkpoint_dir: str | Path | None = None,
           resume: bool = False, log_dir: str | Path | None = None
           ) -> tuple[History, dict[str, dict[str, torch.Tensor]]]:
    """Train, then compute the final prediction (test-time views, snapshot ensemble or
    averaged weights) and what it adds to the run's folder."""
    groups = transfer_params(model, recipe.optim.options.get("lr", 1.0), recipe.transfer)
    optimizer = build_optimizer(recipe.optim.name, groups or model.parameters(),
                                **recipe.optim.options)
    added = section_callbacks(recipe, model, dataset)
    callbacks = [*callbacks, *added]
    snapshots, average = _one(added, Snapshots), _one(added, WeightAverage)
    recorder = _one(added, GradientFlowRecorder)
    if recipe.train.log_to == "tensorboard" and log_dir is not None:
        callbacks.append(TensorBoardLogger(log_dir, gradient_flow=recorder))
    generator = torch.Generator(device=_generator_device(dataset)).manual_seed(recipe.train.seed)
    checkpoints: Checkpoints | None = None
    start: Checkpoint | None = None
    if checkpoint_dir is not None:
        start = resume_point(recipe, checkpoint_dir) if resume else None
        if recipe.train.checkpoint_every is not None:
            checkpoints = Checkpoints(checkpoint_dir, every=recipe.train.checkpoint_every,
                                      meta=_checkpoint_meta(recipe))
    history = fit(model, dataset, optimizer, epochs=recipe.train.epochs,
                  batch_size=recipe.train.batch_size, eval_every=recipe.train.eval_every,
                  callbacks=callbacks, generator=generator, checkpoints=checkpoints, resume=start,
                  precision=recipe.train.precision or "fp32", compile=recipe.train.compile or False)
    if history.status == "diverged":
        return history, {}
    artifacts = finish(model, dataset, history, test_views=recipe.augment.test_views,
                       flip=_test_flip(recipe), snapshots=snapshots,
                       use_last=recipe.ensemble.use_last, average=average)
    return history, artifacts


def _generator_device(dataset: Dataset) -> torch.device:
    """Where the shuffling generator lives: on the data's GPU, so each epoch's permutation is
    drawn there without a copy from the host (on the CPU, the CPU as always)."""
    device = dataset.x_train.device
    return device if device.type == "cuda" else torch.device("cpu")


def transfer_source(recipe: Recipe) -> dict[str, torch.Tensor]:
    """The weights ``recipe`` transfers from: read from a run folder or weights file, or, for a
    source recipe, those of a run of it trained here (its final or averaged weights)."""
    if not isinstance(recipe.transfer.source, dict):
        return source_weights(recipe.transfer)
    return train_source_run(recipe)[2]


def train_source_run(recipe: Recipe) -> tuple[Recipe, RunOutcome, dict[str, torch.Tensor]]:
    """Train the source recipe of ``recipe``'s ``[transfer]``: the source recipe, its run, and
    the weights the target takes from it (final or averaged)."""
    config = recipe.transfer
    assert isinstance(config.source, dict), "a source recipe, not a source on disk"
    source = Recipe.from_dict(config.source)
    run = execute(source)
    if run.status != "done" or run.weights is None:
        raise TrainwellError(f"the transfer source run ended {run.status}: {run.history.error}")
    return source, run, run.artifacts["averaged"] if config.weights == "averaged" else run.weights


def _one(callbacks: Iterable[Callback], kind: type[_C]) -> _C | None:
    """The callback of type ``kind`` among ``callbacks`` (a recipe's sections add at most one)."""
    return next((cb for cb in callbacks if isinstance(cb, kind)), None)


def _test_flip(recipe: Recipe) -> bool:
    """Mirror views at test time only for a model trained on mirrored inputs (a mirrored digit
    is another shape; a mirrored photo is the same class)."""
    return any(t["name"] == "hflip" for t in recipe.augment.transforms)


@contextlib.contextmanager
def _deterministic(on: bool, device: str) -> Iterator[None]:
    """torch's deterministic algorithms for the run (and cuBLAS's workspace setting on CUDA,
    which they need); the previous setting is restored afterwards."""
    before = torch.are_deterministic_algorithms_enabled()
    if on and device != "cpu":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def final_verdicts(model: torch.nn.Module, dataset: Dataset, *, seed: int,
                   history: History | None = None, init: str | None = None) -> list[dict[str, str]]:
    """The diagnosis of the trained model on a seeded training batch, as plain dicts, made to
    agree with how the run ended (``history``: a run that did not train is never healthy) and
    advising nothing the run already uses (its ``init`` scheme, batch norm)."""
    xb, yb = diagnose_batch(dataset.x_train, dataset.y_train, seed=seed)
    used = {init} if init else set()
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        used.add("batch_norm")
    verdicts = diagnose(model, xb, yb, used=used).verdicts
    if history is not None:
        losses = [v for v in history.step_loss if v is not None]
        evidence = not_trained(status=history.status, train_acc=history.final.get("train_acc"),
                               num_classes=dataset.meta.num_classes,
                               first_loss=losses[0] if losses else None,
                               last_loss=history.final.get("train_loss"))
        verdicts = agree_with_outcome(verdicts, evidence)
    return [{"kind": v.kind, "message": v.message, "fix": v.fix} for v in verdicts]
