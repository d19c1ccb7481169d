"""One check per verdict kind: when a probe's numbers give it, what its message says and which fix
it advises.

Each check takes the :class:`Facts` of one probe and returns its verdicts (none when it does
not hold); :func:`~trainwell.diagnose.verdicts.judge` runs them causes first. The thresholds
are in :mod:`~trainwell.diagnose.thresholds`.

Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", 2010; K. He et al., "Delving Deep into Rectifiers", 2015; A. Karpathy et al.,
CS231n "Training Neural Networks", 2016; S. Kim, "Lecture 10-2", 2017.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trainwell.diagnose.diagnosis import LayerStats, Verdict
from trainwell.diagnose.layers import SATURATING
from trainwell.diagnose.readings import (
    activation_growth,
    dead_layers,
    finite,
    gradient_ratio,
    layer_ids,
    saturated_layers,
    zero_layers,
)
from trainwell.diagnose.thresholds import (
    EXPLODING_GRADIENT,
    EXPLODING_GROWTH,
    LARGE_GAIN,
    SMALL_GAIN,
    SYMMETRIC_FRACTION,
    UPDATE_RATIO_HIGH,
    UPDATE_RATIO_LOW,
    VANISHING_GRADIENT,
    VANISHING_GROWTH,
)
from trainwell.diagnose.wording import layer_range, num, shares

__all__ = ["Facts", "non_finite", "symmetric", "dead", "saturated", "activation_scale",
           "gradient_flow", "learning_rate", "healthy"]

_FAN_SCALED_SCHEMES = ("he_normal (relu family)", "glorot_normal (tanh, sigmoid)", "lsuv")


@dataclass
class Facts:
    """What the checks know of one probe: its layers (forward order) and loss, the activation
    most hidden layers use, the median weight gain and a sentence on it, and what the network
    already uses (its init scheme, ``batch_norm``), which no fix then advises."""

    layers: Sequence[LayerStats]
    loss: float | None
    activation: str
    gain: float
    gain_text: str
    used: frozenset[str] = frozenset()

    @classmethod
    def of(cls, layers: Sequence[LayerStats], *, loss: float | None = None,
           used: Iterable[str] = ()) -> Facts:
        """The facts of a probe's ``layers`` and ``loss``.

        >>> Facts.of([]).gain_text
        'the layers scale their input by about 1 (‖W‖/√rows; He gives 1.41 for relu)'
        """
        gain = statistics.median(s.weight_gain for s in layers) if layers else 1.0
        hidden = [s.activation for s in layers if s.activation != "none"]
        return cls(layers, loss, max(set(hidden), key=hidden.count) if hidden else "none", gain,
                   f"the layers scale their input by about {num(gain)} (‖W‖/√rows; He gives "
                   "1.41 for relu)", frozenset(used))

    @property
    def fan_scaled(self) -> str:
        """The fan-scaled schemes to advise, less the one the network already uses."""
        names = [n for n in _FAN_SCALED_SCHEMES if n.split(" ")[0] not in self.used]
        return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)

    @property
    def or_batch_norm(self) -> str:
        return "" if "batch_norm" in self.used else ", or batch_norm"


def non_finite(f: Facts) -> list[Verdict]:
    bad = [s.index for s in f.layers if not (finite(s.act_mean) and finite(s.act_std))]
    lost = f.loss is not None and not math.isfinite(f.loss)
    if not (lost or bad):
        return []
    where = ([f"the loss is {f.loss}"] if lost else []) + \
        ([f"the activations overflow from layer {bad[0]} on"] if bad else [])
    return [Verdict("non_finite", tuple(bad), f"non-finite values: {' and '.join(where)}",
                    f"lower the init scale ({f.fan_scaled}) or the learning rate")]


def symmetric(f: Facts) -> list[Verdict]:
    found = [s for s in f.layers[:-1]
             if s.symmetric_group >= 2 and s.symmetric_group / s.units >= SYMMETRIC_FRACTION]
    if not found:
        return []
    s = found[0]
    share = "all" if s.symmetric_group == s.units else f"{s.symmetric_group} of the"
    how = "zero" if all(t.weight_norm == 0 for t in found) else "a constant"
    also = f" (and likewise in {layer_range(layer_ids(found[1:]))})" if len(found) > 1 else ""
    return [Verdict("symmetric", layer_ids(found),
                    f"symmetric units: {share} {s.units} units of layer {s.index} are identical{also}"
                    f" — the weights were initialized to {how}, so the units get identical "
                    "gradients and never become different", f"use a random scheme: {f.fan_scaled}")]


def dead(f: Facts) -> list[Verdict]:
    found = dead_layers(f.layers)
    if not found:
        return []
    biases = [s.bias_mean for s in found if s.bias_mean is not None]
    if biases and statistics.mean(biases) < 0:
        cause = f"their biases are negative (mean {num(statistics.mean(biases))})"
    elif all(s.weight_norm == 0 for s in found):
        cause = "their weights are zero, so every pre-activation is 0"
    else:
        cause = "their pre-activations stay <= 0 (a negative shift or a too-large update)"
    return [Verdict("dead", layer_ids(found), f"dead units: {shares(found, 'dead_fraction', 'units')} "
                    f"never fire on this batch — {cause}", "set biases to 0 (or a small positive "
                    "value), use he_normal, lower the learning rate, or use leaky_relu")]


def saturated(f: Facts) -> list[Verdict]:
    found = saturated_layers(f.layers)
    if not found:
        return []
    cause = f.gain_text if f.gain > LARGE_GAIN else "their pre-activations are too large"
    return [Verdict("saturated", layer_ids(found),
                    f"saturated units: {shares(found, 'saturated_fraction', 'outputs')} sit within "
                    f"0.01 of the bounds of {found[0].activation}, where it passes almost no "
                    f"gradient — {cause}", f"use {f.fan_scaled}{f.or_batch_norm}")]


def activation_scale(f: Facts) -> list[Verdict]:
    scaled = [s for s in f.layers if finite(s.act_mean) and finite(s.act_std)]
    growth = activation_growth(scaled)
    if growth is None or VANISHING_GROWTH <= growth <= EXPLODING_GROWTH:
        return []
    ends = (f"(rms {num(scaled[0].act_rms)} at layer {scaled[0].index}, "
            f"{num(scaled[-1].act_rms)} at layer {scaled[-1].index})")
    if growth > EXPLODING_GROWTH:
        cause = (f"the init scale is too large: {f.gain_text}; U(-1, 1) and other scales that "
                 "ignore the fan-in do this" if f.gain > LARGE_GAIN else
                 "the weights are too large for the input's scale")
        return [Verdict("exploding_activations", layer_ids(f.layers), f"exploding activations: their "
                        f"scale grows {num(growth)}x per layer {ends} — {cause}",
                        f"use {f.fan_scaled}{f.or_batch_norm}")]
    zero = zero_layers(f.layers)
    cause = (f"{layer_range(layer_ids(zero))} have all-zero weights" if zero else
             f"the init scale is too small: {f.gain_text}" if f.gain < SMALL_GAIN else
             "the layers shrink their input")
    return [Verdict("vanishing_activations", layer_ids(f.layers), f"vanishing activations: their scale "
                    f"shrinks {num(growth)}x per layer {ends} — {cause}", f"use {f.fan_scaled}")]


def gradient_flow(f: Facts) -> list[Verdict]:
    ratio, first, last = gradient_ratio(f.layers)
    if ratio is None or VANISHING_GRADIENT <= ratio <= EXPLODING_GRADIENT:
        return []
    which = (first.index, last.index)
    if ratio < VANISHING_GRADIENT:
        fix = (f"use relu with he_normal{'' if 'lsuv' in f.used else ', or lsuv'}{f.or_batch_norm}"
               if f.activation in SATURATING else f"use {f.fan_scaled}{f.or_batch_norm}")
        return [Verdict("vanishing_gradient", which, f"vanishing gradient: layer {first.index} "
                        f"receives {num(ratio)} of the gradient of layer {last.index} "
                        f"(‖∂L/∂output‖) — {_vanishing_cause(f)}", fix)]
    cause = (f"the init scale is too large: {f.gain_text}" if f.gain > LARGE_GAIN else
             "the layers amplify the gradient on its way back")
    return [Verdict("exploding_gradient", which, f"exploding gradient: layer {first.index} "
                    f"receives {num(ratio)}x the gradient of layer {last.index} (‖∂L/∂output‖) — "
                    f"{cause}", f"use {f.fan_scaled}, or lower the learning rate")]


def learning_rate(f: Facts, found: list[Verdict]) -> list[Verdict]:
    """Too high whenever a step is too large; too low only when nothing else explains small steps."""
    rated = [(s.update_ratio, s) for s in f.layers if finite(s.update_ratio)]
    if not rated:
        return []
    ratio, top = max(rated, key=lambda pair: pair[0])
    typical = "of its weights (‖ΔW‖/‖W‖; about 1e-3 is typical)"
    if ratio > UPDATE_RATIO_HIGH:
        return [Verdict("lr_too_high", (top.index,), f"learning rate too high: one step changes "
                        f"layer {top.index} by {num(ratio)} {typical}",
                        "lower optim.lr about 10x")]
    if ratio < UPDATE_RATIO_LOW and not found:
        return [Verdict("lr_too_low", layer_ids([s for _, s in rated]), f"learning rate too low: one "
                        f"step changes no layer by more than {num(ratio)} {typical}",
                        "raise optim.lr about 10x")]
    return []


def _vanishing_cause(f: Facts) -> str:
    zero, dead, sat = zero_layers(f.layers), dead_layers(f.layers), saturated_layers(f.layers)
    if zero:
        return f"{layer_range(layer_ids(zero))} have all-zero weights, and ∂L/∂x = Wᵀ ∂L/∂y is then 0"
    if dead:
        return f"the dead units of {layer_range(layer_ids(dead))} pass no gradient"
    if sat:
        return f"the {sat[0].activation} layers saturate ({layer_range(layer_ids(sat))})"
    if f.gain < SMALL_GAIN:
        return f"the weights are too small: {f.gain_text}"
    if f.activation == "sigmoid":
        return "the sigmoid's slope is at most 1/4, so each layer passes on at most a quarter of it"
    return "each layer shrinks the gradient on its way back"


def healthy(layers: Sequence[LayerStats]) -> Verdict:
    """The ``healthy`` verdict, with the numbers that show it: activation scale, gradient ratio."""
    parts = []
    growth = activation_growth([s for s in layers if finite(s.act_mean) and finite(s.act_std)])
    if growth is not None:
        parts.append(f"activations keep their scale ({num(growth)}x per layer)")
    ratio, first, last = gradient_ratio(layers)
    if ratio is not None:
        parts.append(f"layer {first.index} receives {num(ratio)}x the gradient of layer {last.index}")
    parts.append("no dead, saturated or identical units")
    return Verdict("healthy", (), "healthy: " + ", ".join(parts), "")
