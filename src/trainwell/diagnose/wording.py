"""How a verdict writes its numbers and the layers it names.

>>> num(0.000123), num(2.5), layer_range((2, 3, 4)), layer_range((1, 5))
('1.2e-04', '2.5', 'layers 2–4', 'layers 1 and 5')
"""

from __future__ import annotations

from collections.abc import Sequence

from trainwell.diagnose.diagnosis import LayerStats
from trainwell.diagnose.readings import layer_ids

__all__ = ["num", "layer_range", "shares"]


def num(x: float) -> str:
    """``x`` to three significant digits, in scientific notation outside [1e-3, 1e4)."""
    return f"{x:.3g}" if x == 0 or 1e-3 <= abs(x) < 1e4 else f"{x:.1e}"


def layer_range(ids: Sequence[int]) -> str:
    """``"layer 3"``, ``"layers 2–8"`` for a run of layers, else ``"layers 1, 4 and 6"``."""
    if len(ids) == 1:
        return f"layer {ids[0]}"
    if list(ids) == list(range(ids[0], ids[-1] + 1)):
        return f"layers {ids[0]}–{ids[-1]}"
    return "layers " + ", ".join(map(str, ids[:-1])) + f" and {ids[-1]}"


def shares(layers: Sequence[LayerStats], attr: str, noun: str) -> str:
    """``"100% of the units of layers 2–8"``, or ``"52–60% of ..."`` when the shares differ."""
    pcts = [round(100 * getattr(s, attr)) for s in layers]
    share = f"{pcts[0]}%" if min(pcts) == max(pcts) else f"{min(pcts)}–{max(pcts)}%"
    return f"{share} of the {noun} of {layer_range(layer_ids(layers))}"
