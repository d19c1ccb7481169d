"""What the live monitor measured and what it concluded: a :class:`Window` per measured step
(the loss since the previous one, a :class:`LayerWindow` per layer) and a :class:`LiveVerdict`
per symptom that held (:mod:`trainwell.diagnose.symptoms` has the rules).

>>> LiveVerdict.from_dict(LiveVerdict("nan", 3, "", {}, "the loss is nan", "clip").to_dict()).step
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LayerWindow", "Window", "LiveVerdict"]


@dataclass
class LayerWindow:
    """One layer at one measured step; ``None`` where the number does not apply or the layer
    did not run."""

    name: str
    activation: str
    grad: float | None
    weight: float | None
    update: float | None = None
    dead: float | None = None
    saturated: float | None = None
    act_std: float | None = None

    @property
    def relative_grad(self) -> float | None:
        if self.grad is None or not self.weight:
            return None
        return self.grad / self.weight


@dataclass
class Window:
    """What the monitor measured at ``step``: loss mean and coefficient of variation over the
    steps since the previous window, and each layer."""

    step: int
    loss: float | None
    loss_cv: float | None
    layers: list[LayerWindow] = field(default_factory=list)


@dataclass(frozen=True)
class LiveVerdict:
    """A symptom that held: its ``kind`` (one of :data:`SYMPTOMS`), the ``step`` it was found
    at, the ``layer`` it names (``""`` for the whole network), the ``numbers`` it rests on, a
    plain ``message`` and the lectures' ``fix``."""

    kind: str
    step: int
    layer: str
    numbers: dict[str, float]
    message: str
    fix: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}; {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveVerdict:
        return cls(**data)
