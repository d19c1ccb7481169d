"""Weight averaging along one run: EMA, SWA and Polyak averaging (``[average]``).

Three ways to average the iterates ``w_1, w_2, ...`` of one training run into a model that
usually generalizes better than the last iterate, at almost no cost:

- ``ema``: exponential moving average, ``a_1 = w_1``, ``a_t = decay * a_{t-1} + (1 - decay) * w_t``
  after every step; batch-norm statistics are averaged the same way (timm's model EMA).
- ``swa``: stochastic weight averaging (Izmailov et al., "Averaging Weights Leads to Wider
  Optima and Better Generalization", 2018): the equal average of the weights at the end of
  every epoch from ``start`` (by default 75 % of the run), optionally with its own lr
  ``swa_lr`` reached along a cosine over ``anneal_epochs``.
- ``polyak``: Polyak-Ruppert averaging (Polyak & Juditsky 1992), the equal average of every
  iterate (every step) from ``start`` (by default the first).

The averaging itself is :class:`torch.optim.swa_utils.AveragedModel`. Averaged weights do not
match the running statistics of batch norm, so for ``swa`` and ``polyak``
:func:`torch.optim.swa_utils.update_bn` recomputes them with one pass over the training set
(``update_bn``; for EMA this was found unnecessary or worse and is off by default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError

if TYPE_CHECKING:
    from trainwell.loop.events import TrainState

__all__ = ["AVERAGING", "WeightAverage", "average_options"]

AVERAGING = {
    "none": "train and keep the last iterate",
    "ema": "exponential moving average of the weights after every step (decay 0.999)",
    "swa": "stochastic weight averaging: equal average of each epoch's weights from 75 % of the "
           "run (Izmailov et al. 2018)",
    "polyak": "Polyak averaging: equal average of every iterate from the start",
}
"""Each ``[average] kind`` with one line."""

_OPTIONS: dict[str, dict[str, Any]] = {
    "ema": {"decay": 0.999, "start": 0, "every": "step", "update_bn": False},
    "swa": {"start": None, "every": "epoch", "swa_lr": None, "anneal_epochs": 0,
            "update_bn": True},
    "polyak": {"start": 0, "every": "step", "update_bn": True},
}
"""The options each kind takes, with their defaults (``start = None``: 75 % of the epochs)."""


def average_options(options: Mapping[str, Any], epochs: int) -> dict[str, Any]:
    """The resolved ``[average]`` table for a run of ``epochs`` epochs: only the options of
    its ``kind``, defaults filled in. Raises :class:`ConfigError` naming the key.

    >>> average_options({"kind": "swa"}, epochs=20)
    {'kind': 'swa', 'start': 15, 'every': 'epoch', 'anneal_epochs': 0, 'update_bn': True}
    >>> average_options({"kind": "ema", "start": 3}, epochs=20)["decay"]
    0.999
    """
    kind = options.get("kind", "none")
    given = {k: v for k, v in options.items() if k != "kind" and v is not None}
    if kind == "none":
        if given:
            key = next(iter(given))
            raise ConfigError(f"average.{key}", given[key],
                              f"average.kind = {' | '.join(_OPTIONS)} for this option "
                              "(kind is none: no averaging)")
        return {"kind": "none"}
    takes = _OPTIONS[kind]
    for key, value in given.items():
        if key not in takes:
            others = [k for k, opts in _OPTIONS.items() if key in opts]
            raise ConfigError(f"average.{key}", value,
                              f"an option of kind {kind!r} ({', '.join(takes)}); {key} goes "
                              f"with kind = {' or '.join(others) or 'none of them'}")
    out = {**takes, **given}
    if out["start"] is None:
        out["start"] = (3 * epochs) // 4
    if out["start"] >= epochs:
        raise ConfigError("average.start", out["start"],
                          f"an epoch before the run's end: 0 .. {epochs - 1} "
                          f"(train.epochs = {epochs})")
    if kind == "swa" and out["anneal_epochs"] and out.get("swa_lr") is None:
        raise ConfigError("average.anneal_epochs", out["anneal_epochs"],
                          "0 unless average.swa_lr is set (the lr it anneals to)")
    return {"kind": kind, **{k: v for k, v in out.items() if v is not None}}


class WeightAverage:
    """A trainer callback that keeps the average of the model's weights (see the module).

    ``kind`` and the options are those of :func:`average_options` (``start`` in epochs,
    ``every`` ``"step"`` or ``"epoch"``). After training, :meth:`averaged` returns the
    averaged network (batch-norm statistics recomputed on ``x`` when ``update_bn``).
    ``state_dict()``/``load_state_dict()`` carry the averaged weights and the number of
    updates, for a checkpoint (loaded after ``before_fit``, which makes the averaged copy).

    >>> model = torch.nn.Linear(2, 1)
    >>> avg = WeightAverage("polyak", start=0, every="step")
    >>> avg.kind, avg.updates
    ('polyak', 0)
    """

    order = ORDER["average"]

    def __init__(self, kind: str, *, decay: float = 0.999, start: int = 0, every: str = "step",
                 swa_lr: float | None = None, anneal_epochs: int = 0,
                 update_bn: bool = False) -> None:
        if kind not in ("ema", "swa", "polyak"):
            raise ConfigError("average.kind", kind, "ema, swa or polyak")
        self.kind, self.decay, self.start, self.every = kind, decay, start, every
        self.swa_lr, self.anneal_epochs, self.recompute_bn = swa_lr, anneal_epochs, update_bn
        self.model: AveragedModel | None = None
        self.updates = 0
        self._lr_at_start: list[float] = []

    def before_fit(self, state: TrainState) -> None:
        ema = self.kind == "ema"
        self.model = AveragedModel(state.model, multi_avg_fn=get_ema_multi_avg_fn(self.decay)
                                   if ema else None, use_buffers=ema)
        self.updates = 0

    def before_step(self, state: TrainState) -> None:
        if self.swa_lr is None or state.epoch < self.start:
            return
        groups = state.optimizer.param_groups
        if not self._lr_at_start:
            self._lr_at_start = [float(g["lr"]) for g in groups]
        done = state.epoch - self.start + (state.step % state.steps_per_epoch) / state.steps_per_epoch
        p = min(1.0, done / self.anneal_epochs) if self.anneal_epochs else 1.0
        base = self._lr_at_start[0]
        for group, lr0 in zip(groups, self._lr_at_start, strict=True):
            target = self.swa_lr * (lr0 / base if base else 1.0)
            group["lr"] = target + (lr0 - target) * (1 + math.cos(math.pi * p)) / 2

    def after_step(self, state: TrainState) -> None:
        if self.every == "step" and state.epoch >= self.start:
            self._update(state.model)

    def after_epoch(self, state: TrainState) -> None:
        if self.every == "epoch" and state.epoch >= self.start:
            self._update(state.model)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "lr_at_start": list(self._lr_at_start),
                "model": None if self.model is None else self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        self._lr_at_start = [float(lr) for lr in state["lr_at_start"]]
        if state["model"] is not None:
            assert self.model is not None, "before_fit creates the average"
            self.model.load_state_dict(state["model"])

    def _update(self, model: torch.nn.Module) -> None:
        assert self.model is not None, "before_fit creates the average"
        self.model.update_parameters(model)
        self.updates += 1

    @torch.no_grad()
    def averaged(self, raw: torch.nn.Module, x: torch.Tensor, *,
                 batch_size: int = 256) -> torch.nn.Module:
        """The averaged network, in eval mode. Without any update yet (a run shorter than
        ``start``), the raw one's weights. With ``update_bn``, batch-norm statistics are
        recomputed on ``x`` in minibatches of ``batch_size``; otherwise (SWA, Polyak) the raw
        network's buffers are copied, and EMA keeps its own averaged ones."""
        assert self.model is not None, "before_fit creates the average"
        if self.updates == 0:
            self.model.update_parameters(raw)
        module = self.model.module
        if not self.model.use_buffers:
            for mine, theirs in zip(module.buffers(), raw.buffers(), strict=True):
                mine.copy_(theirs)
        if self.recompute_bn:
            update_bn((x[i:i + batch_size] for i in range(0, len(x), batch_size)), module)
        return module.eval()
