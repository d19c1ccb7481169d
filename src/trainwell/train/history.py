"""What a training run produces: per-step losses, per-epoch metrics, status and timings."""

from __future__ import annotations

import traceback
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(**data)
