"""What the verdicts read off a probe's per-layer statistics: the growth of the activations'
scale, the gradient's ratio first layer to last, which layers are dead, saturated or all zero.

They take the :class:`~trainwell.diagnose.diagnosis.LayerStats` in forward order; a number
that is undefined (too few layers, a non-finite value) comes back as ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard

from trainwell.diagnose.diagnosis import LayerStats
from trainwell.diagnose.thresholds import DEAD_FRACTION, SATURATED_FRACTION

__all__ = ["activation_growth", "gradient_ratio", "dead_layers", "saturated_layers", "zero_layers",
           "layer_ids", "finite"]


def activation_growth(layers: Sequence[LayerStats]) -> float | None:
    """Geometric mean growth per layer of the activations' rms, first to last hidden layer;
    ``None`` if undefined. The logits are left out when there are two hidden layers or more:
    they legitimately grow as a trained classifier becomes confident."""
    hidden = [s for s in layers if s.activation != "none"]
    layers = hidden if len(hidden) >= 2 else layers
    if len(layers) < 2 or layers[0].act_rms <= 0:
        return None
    return (layers[-1].act_rms / layers[0].act_rms) ** (1 / (len(layers) - 1))


def gradient_ratio(layers: Sequence[LayerStats]) -> tuple[float | None, Any, Any]:
    """``‖∂L/∂output‖`` of the first layer over the last's, and those layers; ``None`` if undefined."""
    graded = [(s.grad_norm, s) for s in layers if finite(s.grad_norm)]
    if len(graded) < 2 or graded[-1][0] <= 0:
        return None, None, None
    (first_norm, first), (last_norm, last) = graded[0], graded[-1]
    return first_norm / last_norm, first, last


def dead_layers(layers: Sequence[LayerStats]) -> list[LayerStats]:
    """Layers where at least :data:`~trainwell.diagnose.thresholds.DEAD_FRACTION` of the units
    that can die never fire."""
    return [s for s in layers if finite(s.dead_fraction) and s.dead_fraction >= DEAD_FRACTION]


def saturated_layers(layers: Sequence[LayerStats]) -> list[LayerStats]:
    """Layers where at least :data:`~trainwell.diagnose.thresholds.SATURATED_FRACTION` of the
    outputs sit at a bound."""
    return [s for s in layers
            if finite(s.saturated_fraction) and s.saturated_fraction >= SATURATED_FRACTION]


def zero_layers(layers: Sequence[LayerStats]) -> list[LayerStats]:
    """Layers after the first whose weights are all zero: no gradient passes back through them."""
    return [s for s in layers[1:] if s.weight_norm == 0]


def layer_ids(layers: Sequence[LayerStats]) -> tuple[int, ...]:
    """The layers' indices, as a verdict names them."""
    return tuple(s.index for s in layers)


def finite(v: float | None) -> TypeGuard[float]:
    """Whether ``v`` was measured and is a finite number."""
    return v is not None and math.isfinite(v)
