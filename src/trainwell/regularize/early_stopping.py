"""Early stopping: stop when a validation metric has not improved for ``patience`` epochs,
and keep the weights of its best epoch.

Training longer lowers the training loss but, past some point, raises the validation loss;
the number of epochs is then a hyperparameter chosen on the validation set. Early stopping
tracks the best value of the metric so far and the weights that gave it, stops once
``patience`` epochs in a row brought no improvement of more than ``min_delta``, and puts the
best weights back.

Reference: L. Prechelt, "Early Stopping — But When?", in Neural Networks: Tricks of the
Trade, 1998; CS231n, "Training Neural Networks II".
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError, did_you_mean
from trainwell.loop.events import Callback, StopTraining, TrainState
from trainwell.regularize._checks import check_choice, check_nonnegative, check_positive_int

__all__ = ["EarlyStopping", "RECIPE_METRICS", "check_recipe_metric"]

_KEY = "train.early_stopping"
_EVALUATED_SPLITS = ("val", "test")  # metrics the trainer adds only on evaluation epochs

RECIPE_METRICS = ("val_loss", "val_acc", "train_loss", "train_acc")
"""The per-epoch metrics a recipe's run records that early stopping may watch. The test-set
ones are left out on purpose: stopping on the test set selects on it."""


def check_recipe_metric(metric: object, *, eval_every: int) -> str:
    """``train.early_stopping.metric`` of a recipe: one of :data:`RECIPE_METRICS`, and a
    validation metric only when the run evaluates (``eval_every >= 1``).

    >>> check_recipe_metric("test_acc", eval_every=1)
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: train.early_stopping.metric = 'test_acc': expected one of
    val_loss, val_acc, train_loss, train_acc (stopping on a test-set metric would select on the
    test set)
    """
    key = f"{_KEY}.metric"
    if not isinstance(metric, str):
        raise ConfigError(key, metric, "a metric name, e.g. val_loss")
    if metric not in RECIPE_METRICS:
        why = (" (stopping on a test-set metric would select on the test set)"
               if metric.startswith("test_") else
               f" (the per-epoch metrics a run records){did_you_mean(metric, RECIPE_METRICS)}")
        raise ConfigError(key, metric, f"one of {', '.join(RECIPE_METRICS)}{why}")
    if eval_every == 0 and metric.startswith("val_"):
        raise ConfigError(key, metric, "a metric that is evaluated: set train.eval_every >= 1 "
                          "(it is 0)")
    return metric


class EarlyStopping(Callback):
    """Stop training when ``metric`` stops improving; restore the best weights at the end.

    After each epoch it reads ``state.history.epochs[-1][metric]`` and

    1. skips the epoch if the value is ``None`` (not finite, or an empty split) or absent
       because the split was not evaluated that epoch (``eval_every > 1``);
    2. on an improvement (below ``best − min_delta`` in ``"min"`` mode, above
       ``best + min_delta`` in ``"max"`` mode) keeps a CPU copy of the model's ``state_dict``;
    3. otherwise, after ``patience`` epochs without improvement, raises
       ``StopTraining(reason, status="done")``.

    ``after_fit`` loads the best weights back (also when training ran to the end) and records
    ``state.history.early_stopping = {"best_epoch", "best", "stopped_epoch"}``
    (epochs 1-based as in the history; ``stopped_epoch`` is ``None`` if it never stopped).
    ``mode="auto"`` maximizes metrics whose name contains ``"acc"`` and minimizes the rest.
    A ``metric`` that an evaluated epoch does not have raises :class:`ConfigError`.
    ``state_dict()``/``load_state_dict()`` carry the best value, its epoch and weights, and
    the epochs waited, for a checkpoint (:class:`~trainwell.loop.Stateful`).

    Runs last (``ORDER["early_stopping"]``) so the other callbacks see the epoch it stops at.

    **Note**: the trainer computes ``history.final`` before ``after_fit``, so ``final`` holds
    the metrics of the *last* weights, not of the restored best ones.

    >>> EarlyStopping("val_acc", patience=3)
    EarlyStopping('val_acc', patience=3, mode='max', min_delta=0.0)
    """

    order = ORDER["early_stopping"]

    def __init__(self, metric: str = "val_loss", *, patience: int = 5,
                 mode: Literal["auto", "min", "max"] = "auto", min_delta: float = 0.0) -> None:
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{_KEY}.metric", metric, "the name of a per-epoch metric")
        self.metric = metric
        self.patience = check_positive_int(f"{_KEY}.patience", patience)
        mode = check_choice(f"{_KEY}.mode", mode, ("auto", "min", "max"))
        self.mode = ("max" if "acc" in metric else "min") if mode == "auto" else mode
        self.min_delta = check_nonnegative(f"{_KEY}.min_delta", min_delta)
        self._reset()

    def __repr__(self) -> str:
        return (f"EarlyStopping({self.metric!r}, patience={self.patience}, mode={self.mode!r}, "
                f"min_delta={self.min_delta})")

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._weights: dict[str, torch.Tensor] | None = None

    def _improves(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def before_fit(self, state: TrainState) -> None:
        self._reset()

    def after_epoch(self, state: TrainState) -> None:
        last = state.history.epochs[-1]
        value = self._read(last)
        if value is None:
            return
        epoch = int(last.get("epoch", state.epoch + 1))
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self._weights = {k: v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor)
                             else copy.deepcopy(v)  # a module's extra state may be any object
                             for k, v in state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            raise StopTraining(
                f"early stopping: {self.metric} did not improve for {self.patience} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch})", status="done")

    def _read(self, epoch: dict[str, Any]) -> float | None:
        if self.metric not in epoch:
            split = self.metric.split("_", 1)[0]
            evaluated = any(k.startswith(split + "_") for k in epoch)
            if split in _EVALUATED_SPLITS and not evaluated:
                return None
            known = sorted(k for k in epoch if k not in ("epoch", "step"))
            raise ConfigError(f"{_KEY}.metric", self.metric,
                              "a per-epoch metric, one of " + ", ".join(known))
        value = epoch[self.metric]
        if value is None or not math.isfinite(float(value)):
            return None
        return float(value)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "weights": self._weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.stopped_epoch = int(state["wait"]), state["stopped_epoch"]
        self._weights = None if state["weights"] is None else dict(state["weights"])

    def after_fit(self, state: TrainState) -> None:
        if self._weights is not None:
            state.model.load_state_dict(self._weights)
        state.history.early_stopping = {
            "best_epoch": self.best_epoch, "best": self.best, "stopped_epoch": self.stopped_epoch}
        self._weights = None
