"""The thresholds a probe's verdicts are judged by: each a named constant, with why it has its value.

:func:`~trainwell.diagnose.verdicts.judge` compares a probe's per-layer statistics with these;
a verdict holds on the far side of its threshold.

Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", 2010; K. He et al., "Delving Deep into Rectifiers", 2015; A. Karpathy et al.,
CS231n "Training Neural Networks", 2016.
"""

from __future__ import annotations

__all__ = [
    "SYMMETRIC_FRACTION", "DEAD_FRACTION", "SATURATED_FRACTION", "EXPLODING_GROWTH",
    "VANISHING_GROWTH", "VANISHING_GRADIENT", "EXPLODING_GRADIENT", "UPDATE_RATIO_HIGH",
    "UPDATE_RATIO_LOW", "SMALL_GAIN", "LARGE_GAIN",
]

SYMMETRIC_FRACTION = 0.25
"""A hidden layer is symmetric when at least this share of its units (and at least 2) are
identical. Random schemes never draw two equal rows, so any large group comes from a constant
init; a quarter of a layer copying one unit is a width loss worth naming."""
DEAD_FRACTION = 0.5
"""A layer is dead when at least half its units that can die (relu, relu6; see
:func:`~trainwell.diagnose.layers.can_die`) never fire on the batch. He init leaves 0-25% of a
deep relu net's units silent on 256 samples; half the width gone is a failure."""
SATURATED_FRACTION = 0.5
"""A layer saturates when at least half its outputs sit at a bound (where the slope is under
4% of its maximum): half the gradient paths through it are cut."""
EXPLODING_GROWTH = 2.0
"""Activations explode when their scale (root mean square) grows more than 2x per layer, first
layer to last: 10 such layers make 1000x. Fan-scaled inits keep it near 1; U(-1, 1) on 64 inputs
gives about 4.6."""
VANISHING_GROWTH = 0.5
"""Activations vanish when their scale shrinks below 0.5x per layer, the mirror of
:data:`EXPLODING_GROWTH`; ``0.01 * N(0, 1)`` on 64 inputs gives about 0.08."""
VANISHING_GRADIENT = 1e-3
"""The gradient vanishes when ``‖∂L/∂output‖`` of the first layer is below 1/1000 of the last
layer's: the first layers then learn three orders of magnitude slower than the last."""
EXPLODING_GRADIENT = 1e3
"""The gradient explodes when the first layer's ``‖∂L/∂output‖`` is more than 1000x the last's."""
UPDATE_RATIO_HIGH = 0.25
"""The learning rate is too high when one step changes some layer by more than a quarter of its
weights (‖ΔW‖/‖W‖): four such steps could replace the layer. CS231n's rule of thumb is ~1e-3;
SGD at lr 0.1 on a He-initialized net gives 0.01-0.05 on the first step."""
UPDATE_RATIO_LOW = 1e-6
"""The learning rate is too low when every layer changes by less than 1e-6 of its weights per
step: a million steps to move the weights by their own size."""
SMALL_GAIN = 0.5
"""Weights are "small" when ``‖W‖/sqrt(rows)`` (the factor the layer scales a unit-variance input
by) has a median under 0.5 across layers; He gives 1.41 for relu, Glorot about 1."""
LARGE_GAIN = 2.0
"""Weights are "large" when that median gain is over 2."""
