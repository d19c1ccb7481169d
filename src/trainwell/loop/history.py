"""What a training run produces: per-step losses, per-epoch metrics, status and timings."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from trainwell._numbers import finite_or_none

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
    """

    status: str = "running"
    step_loss: list[float | None] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, float | None] = field(default_factory=dict)
    diverged_step: int | None = None
    stop_reason: str | None = None
    error: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def add_epoch(self, **metrics: Any) -> None:
        self.epochs.append({k: (finite_or_none(v) if isinstance(v, float) else v)
                            for k, v in metrics.items()})

    def set_final(self, **metrics: float | None) -> None:
        self.final = {k: finite_or_none(v) for k, v in metrics.items()}

    @classmethod
    def failed(cls, exc: BaseException) -> History:
        """The record of a run that raised ``exc``: its message, and the traceback in ``extra``
        (call it inside the ``except`` block that caught ``exc``)."""
        return cls(status="failed", error=f"{type(exc).__name__}: {exc}",
                   extra={"traceback": traceback.format_exc()})

    def metric_rows(self, *, records: Sequence[dict[str, Any]] | None = None,
                    from_epoch: int = 0) -> list[tuple[int, str, float | None]]:
        """The history as ``(step, name, value)`` rows: the metrics a run records.

        ``loss`` at every optimizer step, ``step_lr`` at every step under a schedule,
        ``grad_norm/<layer>`` and ``act_std/<layer>`` at the steps the gradient flow was
        recorded (``records``, by default ``extra["gradient_flow"]``), ``verdict/<symptom>``
        (value 1) at the step the live monitor found each symptom (``extra["watch"]``), and each
        epoch's numbers (``train_loss``, ``val_acc``, ``lr``, ...) at the step it ended. Non-finite values are
        ``None``. With ``from_epoch = k``, only what came after epoch ``k``: the steps after its
        last, and the epochs ``k + 1`` on.

        >>> h = History(step_loss=[2.3, 2.1])
        >>> h.add_epoch(epoch=1, step=2, train_loss=2.2)
        >>> h.metric_rows()
        [(0, 'loss', 2.3), (1, 'loss', 2.1), (2, 'train_loss', 2.2)]
        >>> h.metric_rows(from_epoch=1)
        []
        """
        if records is None:
            records = self.extra.get("gradient_flow", {}).get("records", [])
        first = _epoch_step(self.epochs[from_epoch - 1]) if from_epoch > 0 else 0
        rows = [(step, "loss", finite_or_none(self.step_loss[step]))
                for step in range(first, len(self.step_loss))]
        lrs = self.extra.get("lr", [])
        rows += [(step, "step_lr", finite_or_none(lrs[step])) for step in range(first, len(lrs))]
        for r in records:
            if r["step"] >= first:
                rows += [(r["step"], f"grad_norm/{r['layer']}", finite_or_none(r["grad_norm"])),
                         (r["step"], f"act_std/{r['layer']}", finite_or_none(r["act_std"]))]
        rows += [(v["step"], f"verdict/{v['kind']}", 1.0)
                 for v in self.extra.get("watch", {}).get("verdicts", []) if v["step"] >= first]
        for epoch in self.epochs[from_epoch:]:
            rows += [(_epoch_step(epoch), name, finite_or_none(v)) for name, v in epoch.items()
                     if name not in ("epoch", "step") and (v is None or isinstance(v, (int, float)))]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(**data)


def _epoch_step(epoch: dict[str, Any]) -> int:
    """The optimizer steps taken when an epoch ended (in older histories: its number)."""
    return epoch.get("step", epoch.get("epoch", 0))
