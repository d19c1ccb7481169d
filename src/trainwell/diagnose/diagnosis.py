"""What a diagnosis found: per-layer :class:`LayerStats`, :class:`Verdict` objects, and the
:class:`Diagnosis` that holds both.

:func:`~trainwell.diagnose.probes.probe` fills the statistics and
:func:`~trainwell.diagnose.verdicts.judge` the verdicts; this module only holds and
serializes them, so both build on it and neither on the other.

>>> d = Diagnosis(layers=[], loss=None, batch_size=0, verdicts=[Verdict("healthy", (), "ok", "")])
>>> Diagnosis.from_dict(d.to_dict()) == d
True
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell._numbers import finite_floats

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.table import Table

__all__ = ["LayerStats", "Verdict", "Diagnosis"]


@dataclass
class LayerStats:
    """What one probe measured on one layer (1-based ``index``); ``None`` where it does not apply.

    ``act_*`` describe the activation's output (the layer's own output when no activation
    follows it, e.g. the logits). ``dead_fraction``: share of units whose pre-activation is
    <= 0 on every sample (and position), measured only where a unit can die: relu, relu6 and
    a leaky_relu of slope 0 (see :func:`~trainwell.diagnose.layers.can_die`).
    ``saturated_fraction``: share of outputs within
    :data:`~trainwell.diagnose.probes.SATURATION_MARGIN` of a bound (outputs, not units: a
    per-unit rule misses the usual failure, every unit saturated on half the samples).
    ``grad_norm`` is ``‖∂L/∂output‖``, ``weight_gain`` ``‖W‖ / sqrt(rows)`` (the factor the
    weights scale a unit-variance input by: sqrt 2 for He init), ``symmetric_group`` the
    largest number of units with identical weights, ``update_ratio`` ``‖ΔW‖ / ‖W‖`` of one
    optimizer step.
    """

    index: int
    name: str
    kind: str
    activation: str
    units: int
    act_mean: float
    act_std: float
    hist_counts: list[int]
    hist_edges: list[float]
    dead_fraction: float | None
    saturated_fraction: float | None
    grad_norm: float | None
    weight_grad_norm: float | None
    weight_norm: float
    weight_gain: float
    bias_mean: float | None
    symmetric_group: int
    update_ratio: float | None = None

    @property
    def act_rms(self) -> float:
        """Root mean square of the activations, ``sqrt(mean² + std²)``: their scale."""
        return math.hypot(self.act_mean, self.act_std)


@dataclass(frozen=True)
class Verdict:
    """One finding: its ``kind`` (one of :data:`~trainwell.diagnose.verdicts.VERDICT_KINDS`),
    the 1-based layers it is about, a plain-language ``message`` (symptom, numbers and cause)
    and a suggested ``fix``."""

    kind: str
    layers: tuple[int, ...]
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "layers": list(self.layers)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(kind=data["kind"], layers=tuple(data["layers"]), message=data["message"],
                   fix=data["fix"])


@dataclass
class Diagnosis:
    """Per-layer statistics of one probe in forward order, the batch loss, and the verdicts.

    Its views: :meth:`table` (rich), :meth:`text`, :meth:`figure` (matplotlib), the page
    (:meth:`write_html`), and in a notebook the verdicts, table and pictures as the cell's HTML.
    """

    layers: list[LayerStats]
    loss: float | None
    batch_size: int
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when no verdict names a problem."""
        return all(v.kind == "healthy" for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (non-finite numbers become ``None``); :meth:`from_dict` reads it back."""
        return finite_floats({"loss": self.loss, "batch_size": self.batch_size,
                              "layers": [asdict(s) for s in self.layers],
                              "verdicts": [v.to_dict() for v in self.verdicts]})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        names = {f.name for f in fields(LayerStats)}
        return cls(layers=[LayerStats(**{k: v for k, v in d.items() if k in names})
                           for d in data["layers"]],
                   loss=data["loss"], batch_size=data["batch_size"],
                   verdicts=[Verdict.from_dict(v) for v in data.get("verdicts", [])])

    def table(self) -> Table:
        """A rich table, one row per layer, with the verdicts as its caption."""
        from rich.table import Table

        loss = "no targets" if self.loss is None else f"loss {self.loss:.4g}"
        table = Table(title=f"diagnosis on {self.batch_size} samples, {loss}",
                      caption="\n".join(str(v) for v in self.verdicts) or None,
                      caption_justify="left")
        for col in ("#", "layer", "act", "units", "mean", "std", "dead", "saturated", "‖∂L/∂out‖",
                    "‖∂L/∂W‖", "‖W‖", "gain", "identical", "update"):
            table.add_column(col, justify="left" if col in ("layer", "act") else "right")
        for s in self.layers:
            table.add_row(str(s.index), s.name, s.activation, str(s.units), _fmt(s.act_mean),
                          _fmt(s.act_std), _pct(s.dead_fraction), _pct(s.saturated_fraction),
                          _fmt(s.grad_norm), _fmt(s.weight_grad_norm), _fmt(s.weight_norm),
                          _fmt(s.weight_gain), str(s.symmetric_group), _fmt(s.update_ratio))
        return table

    def text(self) -> str:
        """:meth:`table` as plain text: the per-layer table with the verdicts beneath."""
        from rich.console import Console

        console = Console(width=160, record=True, file=io.StringIO(), color_system=None)
        console.print(self.table())
        return console.export_text().rstrip() + "\n"

    def figure(self) -> Figure:
        """The activation histogram of every layer and the gradient norms by layer, as a
        matplotlib Figure that a notebook shows."""
        from trainwell.report.diagnosis import diagnosis_plot

        return diagnosis_plot(self)

    def write_html(self, path: str | Path, *, title: str = "diagnosis") -> Path:
        """Write the diagnosis page (verdicts, pictures, per-layer table; one self-contained
        HTML file) to ``path`` and return it."""
        from trainwell.report.diagnosis import write_diagnosis_page

        return write_diagnosis_page(self, path, title=title)

    def _repr_html_(self) -> str:
        from trainwell.report.diagnosis import diagnosis_html

        return diagnosis_html(self)


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"
