"""One run, end to end: ``execute(recipe, ctx) -> RunOutcome``, the one place that wires the
layers.

A run is a pure function of its recipe (seed included); its
:class:`~trainwell.run_context.RunContext` says where and with what it runs:

1. prepare the data on the run's device (:mod:`trainwell.build`);
2. build the model and initialize it (a static scheme, or one learned from the data);
3. train it (:func:`trainwell.loop.fit`), recording per-layer gradient flow;
4. judge the trained network (:mod:`trainwell.diagnose`).

It writes nothing but its checkpoints and live logs, into ``ctx.folder`` while it trains:
everything the run produced comes back in a :class:`RunOutcome` (status,
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from trainwell.build import (
    build_initialized_model,
    build_model_for,
    check_runnable,
    flip_at_test,
    initialize,
    prepare_data,
)
from trainwell.data import Dataset
from trainwell.diagnose import GradientFlowRecorder, diagnose, diagnose_batch
from trainwell.diagnose.outcome import agree_with_outcome, not_trained
from trainwell.ensemble.averaging import WeightAverage
from trainwell.ensemble.predictions import finish
from trainwell.ensemble.snapshots import Snapshots
from trainwell.errors import TrainwellError
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
from trainwell.loop.speed import to_channels_last
from trainwell.optim import build_optimizer
from trainwell.recipe import Recipe
from trainwell.run_context import RunContext
from trainwell.sections import section_callbacks
from trainwell.transfer import source_weights, start_from, transfer_params

__all__ = ["RunOutcome", "RunContext", "execute", "resume_point", "transfer_source", "prepare_data",
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


def execute(recipe: Recipe, ctx: RunContext | None = None) -> RunOutcome:
    """Run ``recipe`` in ``ctx`` (default: a fresh :class:`RunContext`) and return its
    :class:`RunOutcome`; never raises for a run that fails.

    ``ctx.device`` overrides ``train.device`` (a backend's placement: it does not change the
    recipe, nor the run id); ``ctx.dataset`` skips loading (it must be the recipe's, on that
    device); ``ctx.source``: the weights of the recipe's ``[transfer]`` source (without them,
    :func:`transfer_source`). With ``ctx.folder``, a run with ``train.checkpoint_every`` writes
    its checkpoints to ``folder.checkpoints`` and one with ``train.log_to = "tensorboard"`` its
    events to ``folder.tensorboard`` as it trains; nothing else is written here. With
    ``ctx.resume`` (:func:`resume_point`) the run continues from that checkpoint, bit-identical
    on the CPU to the run uninterrupted, and records ``history.resumed_from`` (the epoch). The
    model is still built and initialized first (a data-driven initializer runs again), then
    the checkpoint's weights replace the initial ones.

    >>> out = execute(Recipe.from_dict({"data": {"name": "digits"}, "train": {"epochs": 1}}))
    >>> out.status, sorted(out.history.final)[:2]
    ('done', ['test_acc', 'test_loss'])
    """
    ctx = ctx if ctx is not None else RunContext()
    set_threads(recipe.train.threads)
    phase = "prepare"
    model: torch.nn.Module | None = None
    where = ctx.device or recipe.train.device
    with _deterministic(recipe.train.deterministic, where):
        try:
            dev = resolve_device(where)
            data = ctx.dataset if ctx.dataset is not None else prepare_data(recipe, dev)
            check_runnable(recipe, data)
            phase = "build"
            model = build_model_for(recipe, data, dev)
            phase = "initialize"
            init_summary = initialize(model, recipe, data)
            transferred = None
            if recipe.transfer.source is not None:
                phase = "transfer"
                weights = ctx.source if ctx.source is not None else transfer_source(recipe)
                transferred = start_from(model, recipe.transfer, weights)
            if recipe.train.channels_last:  # after initialization: the same initial weights
                to_channels_last(model)
            phase = "train"
            history, artifacts = _train(recipe, model, data, ctx)
        except Exception as exc:  # a run that fails is recorded, never lost
            history = History.failed(exc, phase=phase)
            return RunOutcome(recipe, history, device=str(where))
    history.init, history.transfer = init_summary, transferred
    history.data = {**data.meta.record(), "train_samples": len(data.x_train)}
    if recipe.train.record_every > 0 and history.status != "failed" and ctx.diagnose:
        try:
            history.verdicts = final_verdicts(model, data, seed=recipe.train.seed,
                                              history=history, init=recipe.init.name)
        except Exception as exc:  # a trained run stays trained: only its verdict is missing
            history.diagnosis_error = f"{type(exc).__name__}: {exc}"
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    return RunOutcome(recipe, history, weights=weights, device=str(dev), artifacts=artifacts,
                      model=model if ctx.keep_model else None)


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


def _train(recipe: Recipe, model: torch.nn.Module, dataset: Dataset, ctx: RunContext
           ) -> tuple[History, dict[str, dict[str, torch.Tensor]]]:
    """Train, then compute the final prediction (test-time views, snapshot ensemble or
    averaged weights) and what it adds to the run's folder (nothing for a plain run whose
    artifacts the caller does not keep: ``ctx.artifacts``)."""
    groups = transfer_params(model, recipe.optim.options.get("lr", 1.0), recipe.transfer)
    optimizer = build_optimizer(recipe.optim.name, groups or model.parameters(),
                                **recipe.optim.options)
    added = section_callbacks(recipe, model, dataset)
    callbacks = [*ctx.callbacks, *added]
    snapshots, average = _one(added, Snapshots), _one(added, WeightAverage)
    recorder = _one(added, GradientFlowRecorder)
    folder = ctx.folder
    if recipe.train.log_to == "tensorboard" and folder is not None:
        callbacks.append(TensorBoardLogger(folder.tensorboard, gradient_flow=recorder))
    generator = torch.Generator(device=_generator_device(dataset)).manual_seed(recipe.train.seed)
    checkpoints: Checkpoints | None = None
    if folder is not None and recipe.train.checkpoint_every is not None:
        checkpoints = Checkpoints(folder.checkpoints, every=recipe.train.checkpoint_every,
                                  meta=_checkpoint_meta(recipe))
    history = fit(model, dataset, optimizer, epochs=recipe.train.epochs,
                  batch_size=recipe.train.batch_size, eval_every=recipe.train.eval_every,
                  callbacks=callbacks, generator=generator, checkpoints=checkpoints,
                  resume=ctx.resume, precision=recipe.train.precision or "fp32",
                  compile=recipe.train.compile or False,
                  shuffle=recipe.train.shuffle is not False,
                  final=("train", "val", "test") if ctx.diagnose else ("val", "test"))
    if history.status == "diverged":
        return history, {}
    plain = (recipe.augment.test_views == 1 and recipe.augment.test_crop is None
             and snapshots is None and average is None)
    artifacts = {} if plain and not ctx.artifacts else finish(
        model, dataset, history, test_views=recipe.augment.test_views, flip=flip_at_test(recipe),
        test_crop=recipe.augment.test_crop, snapshots=snapshots,
        use_last=recipe.ensemble.use_last, average=average)
    for callback in callbacks:
        artifacts.update(left_by(callback))
    return history, artifacts


def left_by(callback: Callback) -> dict[str, dict[str, torch.Tensor]]:
    """What a callback leaves in the run's folder: its ``artifacts()``, a name (see
    :class:`~trainwell.run_folder.RunFolder`) -> tensors, each written as
    ``<name>.safetensors``; nothing for a callback without that method."""
    artifacts = getattr(callback, "artifacts", None)
    return dict(artifacts()) if callable(artifacts) else {}


def _generator_device(dataset: Dataset) -> torch.device:
    """Where the shuffling generator lives: on the data's GPU, so each epoch's permutation is
    drawn there without a copy from the host (on the CPU, the CPU as always)."""
    device = dataset.device
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
    xb = dataset.decode(xb)
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
