"""What a training run produces: per-step losses, per-epoch metrics, status and timings."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from trainwell._numbers import finite_or_none
from trainwell.loop.metrics import EPOCH, LOSS, STEP, STEP_LR, verdict_metric

__all__ = ["History", "STATUSES"]

STATUSES = ("done", "diverged", "failed", "interrupted", "running")


@dataclass
class History:
    """The record of one run.

    ``step_loss[i]`` is the minibatch loss of optimizer step ``i`` (``None`` where it was not
    finite); ``epochs`` one dict per epoch (``epoch``, ``step``: optimizer steps taken so far,
    ``train_loss``, ``train_acc`` as running
    means over the epoch's minibatches, ``val_*``/``test_*`` in eval mode where evaluated,
    ``lr``, ``seconds``); ``final`` the metrics of the final model on every split in eval mode.

    What the run's parts add, each written by one of them (``None``: that part did not run):

    - ``step_lr``: the lr (of the first param group) each optimizer step used, under a
      schedule (:class:`~trainwell.optim.schedules.LRSchedule`; empty without one);
    - ``gradient_flow``: per-layer gradient norms and activation stds every few steps, in the
      recorder's layout (:class:`~trainwell.diagnose.GradientFlowRecorder`);
    - ``verdicts``: the diagnosis of the trained model (``kind``, ``message``, ``fix``), or
      ``diagnosis_error`` when it could not be made;
    - ``data``: what the run trained on (its source, input shape, classes and their names);
    - ``init``: what a data-driven initializer did; ``transfer``: what was taken from the
      source run; ``unfrozen``: each layer group unfrozen, with the epoch it started;
    - ``early_stopping``: best epoch and value, and the epoch it stopped at;
    - ``snapshots``: a snapshot ensemble's cycles and the steps of its snapshots;
      ``average``: the weight average's kind and number of updates;
    - ``compile``: with ``train.compile``, its ``mode``, ``warmup_seconds`` (compiling before
      the first epoch, apart from the epochs' seconds) and ``eager_steps``
      (:class:`~trainwell.loop.compile.CompiledModel`);
    - ``watch``: the live monitor's verdicts, notes and measurements
      (:class:`~trainwell.diagnose.Monitor`);
    - ``resumed_from``: the epoch of the checkpoint this run resumed from;
    - ``phase`` and ``traceback``: where a failed run failed, and how.

    >>> History.from_dict({"status": "done", "extra": {"lr": [0.1], "phase": "train"}}).step_lr
    [0.1]
    """

    status: str = "running"
    step_loss: list[float | None] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, float | None] = field(default_factory=dict)
    diverged_step: int | None = None
    stop_reason: str | None = None
    error: str | None = None
    seconds: float = 0.0
    step_lr: list[float] = field(default_factory=list)
    gradient_flow: dict[str, Any] | None = None
    verdicts: list[dict[str, str]] | None = None
    diagnosis_error: str | None = None
    data: dict[str, Any] | None = None
    init: dict[str, Any] | None = None
    transfer: dict[str, Any] | None = None
    unfrozen: dict[str, int] | None = None
    early_stopping: dict[str, Any] | None = None
    snapshots: dict[str, Any] | None = None
    average: dict[str, Any] | None = None
    compile: dict[str, Any] | None = None
    watch: dict[str, Any] | None = None
    resumed_from: int | None = None
    phase: str | None = None
    traceback: str | None = None

    def add_epoch(self, **metrics: Any) -> None:
        self.epochs.append({k: (finite_or_none(v) if isinstance(v, float) else v)
                            for k, v in metrics.items()})

    def set_final(self, **metrics: float | None) -> None:
        self.final = {k: finite_or_none(v) for k, v in metrics.items()}

    @classmethod
    def failed(cls, exc: BaseException, *, phase: str | None = None) -> History:
        """The record of a run that raised ``exc`` (in ``phase``): its message and traceback
        (call it inside the ``except`` block that caught ``exc``)."""
        return cls(status="failed", error=f"{type(exc).__name__}: {exc}", phase=phase,
                   traceback=traceback.format_exc())

    def metric_rows(self, *, layer_rows: Iterable[tuple[int, str, float | None]] = (),
                    from_epoch: int = 0) -> list[tuple[int, str, float | None]]:
        """The history as ``(step, name, value)`` rows: the metrics a run records.

        ``loss`` at every optimizer step, ``step_lr`` at every step under a schedule, the
        per-layer rows given (``layer_rows``: ``grad_norm/<layer>`` and ``act_std/<layer>``
        from a gradient-flow recorder, :func:`trainwell.diagnose.flow_rows`), ``verdict/<symptom>``
        (value 1) at the step the live monitor found each symptom (``watch``), and each epoch's
        numbers (``train_loss``, ``val_acc``, ``lr``, ...) at the step it ended. Non-finite
        values are ``None``. With ``from_epoch = k``, only what came after epoch ``k``: the
        steps after its last, and the epochs ``k + 1`` on.

        >>> h = History(step_loss=[2.3, 2.1])
        >>> h.add_epoch(epoch=1, step=2, train_loss=2.2)
        >>> h.metric_rows()
        [(0, 'loss', 2.3), (1, 'loss', 2.1), (2, 'train_loss', 2.2)]
        >>> h.metric_rows(from_epoch=1)
        []
        """
        first = _epoch_step(self.epochs[from_epoch - 1]) if from_epoch > 0 else 0
        rows = [(step, LOSS, finite_or_none(self.step_loss[step]))
                for step in range(first, len(self.step_loss))]
        rows += [(step, STEP_LR, finite_or_none(self.step_lr[step]))
                 for step in range(first, len(self.step_lr))]
        rows += [(step, name, finite_or_none(v)) for step, name, v in layer_rows
                 if step >= first]
        rows += [(v["step"], verdict_metric(v["kind"]), 1.0)
                 for v in (self.watch or {}).get("verdicts", []) if v["step"] >= first]
        for epoch in self.epochs[from_epoch:]:
            rows += [(_epoch_step(epoch), name, finite_or_none(v)) for name, v in epoch.items()
                     if name not in (EPOCH, STEP) and (v is None or isinstance(v, (int, float)))]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON, without copying the records first (a run folder's
        ``history.json``).

        >>> History(step_loss=[2.3]).to_json()[:38]
        '{"status":"running","step_loss":[2.3],'
        """
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)},
                          separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """A history from :meth:`to_dict`'s dict, or from an earlier version's
        ``history.json`` (which kept the run's parts' records in one ``extra`` table, the
        per-step lr as ``extra["lr"]``); keys this version does not know are left out."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in data.items() if k in known}
        old = data.get("extra") or {}
        for key, value in old.items():
            name = _RENAMED.get(key, key)
            if name in known and name not in given:
                given[name] = value
        return cls(**given)


_RENAMED = {"lr": "step_lr"}
"""Records that earlier versions kept in ``extra`` under another name."""


def _epoch_step(epoch: dict[str, Any]) -> int:
    """The optimizer steps taken when an epoch ended (in older histories: its number)."""
    return epoch.get(STEP, epoch.get(EPOCH, 0))
