"""The training loop: minibatch steps over tensors already on the device.

1. Each epoch takes the training set in a new random order, gathered once so that every
   minibatch is a contiguous slice, or in its stored order (:mod:`trainwell.loop.batches`).
2. Per-step losses and correct counts stay on the device and are read once an epoch, so a
   step never waits for a device sync or pays for bookkeeping.
3. A non-finite loss ends the run with status ``diverged`` and the first bad step.
4. Optimizers that re-evaluate the loss within a step (L-BFGS) get a closure.
5. With :class:`~trainwell.loop.Checkpoints`, a checkpoint after every ``every`` epochs and
   when training ends; ``resume`` continues from one exactly (:mod:`trainwell.loop.capture`).
6. ``precision`` runs the forward pass under autocast (:mod:`trainwell.loop.precision`);
   ``compile`` calls a compiled model, warmed up before the first epoch and timed apart
   (:mod:`trainwell.loop.compile`).
7. Everything else (progress bar, diagnostics, schedules) is a callback on :data:`EVENTS`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import torch
import torch.nn.functional as F

from trainwell.data.dataset import Dataset
from trainwell.loop.batches import batch_shapes, epoch_batches, steps_per_epoch
from trainwell.loop.capture import capture_state, restore_state
from trainwell.loop.compile import CompiledModel
from trainwell.loop.events import Callback, Dispatcher, StopTraining, TrainState
from trainwell.loop.history import History
from trainwell.loop.metrics import EPOCH, LR, SECONDS, STEP, TRAIN_ACC, TRAIN_LOSS, split_metric
from trainwell.loop.precision import Precision
from trainwell.loop.resume import Checkpoint, Checkpoints
from trainwell.optim.optimizers import needs_closure

__all__ = ["fit", "evaluate"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Forward = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *,
             loss_fn: LossFn = F.cross_entropy, batch_size: int = 4096,
             decode: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)`` in eval mode; the model's mode is
    restored afterwards, also when it raises. ``decode`` turns each slice of ``x`` into the
    model's input (a dataset's :meth:`~trainwell.data.Dataset.decode` for stored inputs).

    >>> m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> _ = torch.nn.init.zeros_(m[1].weight), torch.nn.init.zeros_(m[1].bias)
    >>> loss, acc = evaluate(m, torch.zeros(5, 1, 4), torch.zeros(5, dtype=torch.long))
    >>> round(loss, 4), acc  # equal logits: loss log(3), ties go to class 0
    (1.0986, 1.0)
    """
    if len(x) == 0:
        return math.nan, math.nan
    was_training = model.training
    model.eval()
    try:
        loss_sum = torch.zeros((), device=y.device)
        correct = torch.zeros((), device=y.device, dtype=torch.long)
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            logits = model(xb if decode is None else decode(xb))
            yb = y[i:i + batch_size]
            loss_sum += loss_fn(logits, yb) * len(yb)
            correct += (logits.argmax(1) == yb).sum()
    finally:
        model.train(was_training)
    return (loss_sum / len(x)).item(), correct.item() / len(x)


def fit(model: torch.nn.Module, dataset: Dataset, optimizer: torch.optim.Optimizer, *,
        epochs: int, batch_size: int, loss_fn: LossFn = F.cross_entropy,
        callbacks: Iterable[Callback] = (), eval_every: int = 1,
        generator: torch.Generator | None = None, checkpoints: Checkpoints | None = None,
        resume: Checkpoint | None = None, precision: str = "fp32",
        compile: bool | str = False, shuffle: bool = True,
        final: Sequence[str] = ("train", "val", "test")) -> History:
    """Train ``model`` on ``dataset`` and return its :class:`History`.

    ``dataset`` must already be on the model's device (stored inputs, see
    :class:`~trainwell.data.Dataset`, are gathered a batch at a time on the CPU and decoded on
    the device: the same permutation and values as in memory). ``eval_every`` evaluates
    validation and test sets every that many epochs (0: only the final model). ``generator`` drives the
    shuffling; pass a seeded one for reproducible runs. ``shuffle=False`` takes the training
    batches in the stored order every epoch and draws nothing from ``generator``
    (:func:`~trainwell.loop.batches.epoch_batches`). ``after_fit`` always runs, also when
    training raises, so callbacks release what they hold (hooks, progress bars); the final
    metrics are those of the model as ``after_fit`` leaves it (early stopping restores its
    best epoch's weights there), on the splits in ``final``.

    ``checkpoints`` writes a checkpoint every ``checkpoints.every`` epochs and when training
    ends (its last epoch or a :class:`StopTraining`; not on Ctrl-C or an error), and first
    deletes the folder's checkpoints later than where this fit starts. ``resume`` continues
    from a checkpoint: after ``before_fit`` it restores weights, optimizer, generators,
    callbacks' state and history, and goes on with the next epoch (straight to ``after_fit``
    for a checkpoint written when training ended). On the CPU the result is bit-identical to
    the uninterrupted run's, given the same model, data, optimizer and callbacks.

    ``precision``: ``fp32``, ``bf16`` or ``fp16`` (:class:`~trainwell.loop.precision.Precision`).
    ``compile``: ``True`` or ``"max-autotune"`` trains through
    :class:`~trainwell.loop.compile.CompiledModel`; its warm-up runs before the first epoch
    and is recorded in ``history.compile`` (``warmup_seconds``, and ``eager_steps``:
    steps run eagerly because a layer had a hook). ``generator`` may live on the data's
    device: the epoch's permutation is drawn there.

    >>> from trainwell.data import load_dataset
    >>> from trainwell.models import build_model
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=1)
    >>> history = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
    ...               batch_size=64, generator=torch.Generator().manual_seed(0))
    >>> history.status, len(history.epochs)
    ('done', 2)
    """
    history = History()
    n = len(dataset.x_train)
    per_epoch = steps_per_epoch(n, batch_size)
    state = TrainState(model=model, optimizer=optimizer, dataset=dataset, history=history,
                       epochs=epochs, steps_per_epoch=per_epoch)
    dispatch = Dispatcher(callbacks)
    ordered = dispatch.callbacks
    per_step = any(dispatch.wants(e) for e in
                   ("before_step", "after_loss", "after_backward", "after_step"))
    hooks = dispatch if per_step else None
    with_closure = needs_closure(optimizer)
    if with_closure and precision == "fp16":
        raise ValueError("fp16's gradient scaler cannot drive an optimizer that re-evaluates "
                         "the loss within a step (L-BFGS): use fp32 or bf16")
    device = dataset.device
    amp = Precision(precision, device=device)
    compiled = CompiledModel(model, compile) if compile else None
    forward: Forward = compiled if compiled is not None else model
    # the loss scale is part of a checkpoint
    stateful: list[object] = [*ordered, *([amp] if amp.scaler is not None else [])]
    step_losses: list[torch.Tensor] = []
    started, writing = time.perf_counter(), False
    model.train()
    try:
        try:
            dispatch("before_fit", state)
            start = 0 if resume is None else restore_state(resume, state, stateful, generator)
            if history.status != "running":  # resumed from a checkpoint of the end
                start = epochs
            if checkpoints is not None:
                checkpoints.clear(after=start)
                writing = True
            if compiled is not None and start < epochs:
                compiled.warm_up(batch_shapes(dataset, batch_size), loss_fn, amp)
            for epoch in range(start, epochs):
                state.epoch = epoch
                dispatch("before_epoch", state)
                t0 = time.perf_counter()
                batch = epoch_batches(dataset, batch_size, shuffle=shuffle, generator=generator)
                step_losses = []
                correct = torch.zeros((), dtype=torch.long, device=device)
                seen = 0
                first = epoch * per_epoch
                for i in range(per_epoch):
                    xb, yb = batch(i)
                    if hooks is not None:
                        state.step, state.xb, state.yb = first + i, xb, yb
                        hooks("before_step", state)
                        xb, yb = state.xb, state.yb
                    if with_closure:
                        loss, logits = _closure_step(forward, amp, optimizer, loss_fn, xb, yb,
                                                     state, hooks)
                    else:
                        loss, logits, _ = _forward_backward(forward, amp, optimizer, loss_fn, xb,
                                                            yb, state, hooks, hooks)
                        amp.step(optimizer)
                    step_losses.append(loss.detach())
                    correct += (logits.detach().argmax(1) == yb).sum()
                    seen += len(yb)
                    if hooks is not None:
                        hooks("after_step", state)
                state.step = first + per_epoch - 1
                epoch_losses = _flush(history, step_losses)
                metrics = {EPOCH: epoch + 1, STEP: first + per_epoch,
                           TRAIN_LOSS: sum(epoch_losses) / len(epoch_losses),
                           TRAIN_ACC: correct.item() / seen,
                           LR: float(optimizer.param_groups[0]["lr"])}
                if eval_every and (epoch + 1) % eval_every == 0:
                    metrics.update(_split_metrics(model, dataset, loss_fn, ("val", "test")))
                metrics[SECONDS] = time.perf_counter() - t0
                history.add_epoch(**metrics)
                dispatch("after_epoch", state)
                if checkpoints is not None and checkpoints.due(epoch + 1, epochs):
                    checkpoints.save(state, capture_state(state, stateful, generator))
            if history.status == "running":
                history.status = "done"
        except StopTraining as stop:
            _flush(history, step_losses, check=False)
            history.status, history.stop_reason = stop.status, stop.reason
            if checkpoints is not None and writing:
                checkpoints.save(state, capture_state(state, stateful, generator))
        except KeyboardInterrupt:
            _flush(history, step_losses, check=False)
            history.status, history.stop_reason = "interrupted", "interrupted by the user"
            raise
    finally:
        history.seconds += time.perf_counter() - started
        if compiled is not None:
            history.compile = compiled.summary()
        dispatch("after_fit", state)
    if history.status != "diverged":
        history.set_final(**_split_metrics(model, dataset, loss_fn, final))
    return history


def _flush(history: History, step_losses: list[torch.Tensor], *, check: bool = True) -> list[float]:
    """Move an epoch's step losses into the history (one host sync) and empty the list.

    With ``check``, the first non-finite loss ends the run as ``diverged`` at that step.
    """
    if not step_losses:
        return []
    first = len(history.step_loss)
    values = torch.stack(step_losses).tolist()
    step_losses.clear()
    history.step_loss.extend(v if math.isfinite(v) else None for v in values)
    bad = next((j for j, v in enumerate(values) if not math.isfinite(v)), None)
    if check and bad is not None:
        history.diverged_step = first + bad
        raise StopTraining(f"non-finite loss at step {first + bad}", status="diverged")
    return values


def _forward_backward(forward: Forward, amp: Precision, optimizer: torch.optim.Optimizer,
                      loss_fn: LossFn, xb: torch.Tensor, yb: torch.Tensor, state: TrainState,
                      on_loss: Dispatcher | None, on_backward: Dispatcher | None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of one minibatch: ``(data loss, logits, loss)``, where ``loss`` is the data
    loss plus what ``after_loss`` callbacks added. The forward pass runs in ``amp``'s
    precision; the logits, the loss and the gradients callbacks see are float32."""
    optimizer.zero_grad(set_to_none=True)
    with amp.autocast():
        logits = forward(xb)
    logits = logits.float()
    data_loss = loss = loss_fn(logits, yb)
    if on_loss is not None:
        state.logits, state.loss, state.data_loss = logits, loss, data_loss
        on_loss("after_loss", state)
        loss = state.loss
    amp.backward(loss)
    amp.unscale_(optimizer)
    if on_backward is not None:
        state.logits, state.loss, state.data_loss = logits, loss, data_loss
        on_backward("after_backward", state)
    return data_loss, logits, loss


def _closure_step(forward: Forward, amp: Precision, optimizer: torch.optim.Optimizer,
                  loss_fn: LossFn, xb: torch.Tensor, yb: torch.Tensor, state: TrainState,
                  hooks: Dispatcher | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of an optimizer that re-evaluates the loss (L-BFGS). Every evaluation includes
    the ``after_loss`` terms (the line search must see one function); ``after_backward`` fires
    on the first. Returns the data loss and logits of the first evaluation."""
    first: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        data_loss, logits, loss = _forward_backward(forward, amp, optimizer, loss_fn, xb, yb,
                                                    state, hooks, None if first else hooks)
        if not first:
            first.extend((data_loss, logits))
        return loss

    # torch types a closure's loss as float; the loss tensor is what L-BFGS documents.
    optimizer.step(cast(Callable[[], float], closure))
    return first[0], first[1]


def _split_metrics(model: torch.nn.Module, dataset: Dataset, loss_fn: LossFn,
                   splits: Iterable[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for split in splits:
        loss, acc = evaluate(model, getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}"),
                             loss_fn=loss_fn, decode=dataset.decode)
        out[split_metric(split, "loss")], out[split_metric(split, "acc")] = loss, acc
    return out
