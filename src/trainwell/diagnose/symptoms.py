"""The symptoms a live monitor looks for, their thresholds, and the verdicts they give.

A :class:`Window` holds what the monitor measured at one measured step: the mean and spread
of the minibatch losses since the previous one, and per layer its relative gradient
``‖∂L/∂W‖ / ‖W‖``, update-to-weight ratio ``‖ΔW‖ / ‖W‖``, dead and saturated shares.
:func:`find_symptoms` reads the windows so far (and the training accuracy when known) and
returns the :class:`LiveVerdict` objects that hold at the newest one.

The thresholds were set on calibration recipes kept apart from the benchmark's cases
(``benchmarks/doctor_cases/calibration.toml``); the detector never sees a case's label.

References: X. Zhang et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection and
Repair System", ICSE 2021 (vanishing and exploding gradient, dying ReLU, oscillating loss,
slow convergence); M. Wardat et al., "DeepDiagnosis: Automatically Diagnosing Faults and
Recommending Actionable Fixes in Deep Learning Programs", ICSE 2022 (NaN, saturation, loss and
accuracy not improving); A. Karpathy, CS231n "Training Neural Networks" (update-to-weight
ratio about 1e-3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from trainwell.diagnose.windows import LayerWindow, LiveVerdict, Window

__all__ = ["SYMPTOMS", "FIXES", "LiveVerdict", "Window", "LayerWindow", "find_symptoms",
           "DEAD_SHARE", "ALIVE_SHARE", "SATURATED_SHARE", "VANISHING_RATIO", "EXPLODING_RELATIVE",
           "UPDATE_HIGH", "UPDATE_LOW", "SLOW_DROP", "OSCILLATION", "LOSS_RISE", "START_LOSS",
           "CHANCE_FACTOR"]

SYMPTOMS = ("nan", "exploding", "vanishing", "dying_relu", "saturated", "oscillating", "slow",
            "chance", "lr_high", "lr_low")
"""Every symptom the monitor names, causes before consequences."""

FIXES: dict[str, str] = {
    "nan": "lower the learning rate, clip gradients (optim.clip_norm), or use a fan-scaled init",
    "exploding": "clip gradients, lower the learning rate, or use batch norm",
    "vanishing": "use relu with he_normal (or lsuv), batch norm, or residual connections",
    "dying_relu": "lower the learning rate, use leaky_relu, or he_normal with zero biases",
    "saturated": "use a fan-scaled init (glorot_normal for tanh/sigmoid), batch norm, or relu",
    "oscillating": "lower the learning rate (a range test finds one), or add warm-up",
    "slow": "raise the learning rate or use Adam; check the init (he_normal, lsuv)",
    "chance": "check the init and activation (he_normal with relu), then the learning rate",
    "lr_high": "lower the learning rate about 10x (the updates should be about 1e-3 of the weights)",
    "lr_low": "raise the learning rate about 10x (the updates should be about 1e-3 of the weights)",
}
"""The lectures' fix for each symptom."""

DEAD_SHARE = 0.5
"""Dying ReLU: at least half the units of a layer that can die never fire on a measured batch,
at two measured steps in a row."""
ALIVE_SHARE = 0.25
"""A layer's units were alive at the start when fewer than a quarter never fired at the first
measured step (He init leaves up to about a quarter of a relu layer silent): if such a layer
then dies, the steps killed it, and the learning rate is too high."""
SATURATED_SHARE = 0.5
"""Saturation: at least half of a sigmoid/tanh layer's outputs within 0.01 of a bound, at two
measured steps in a row. The healthy calibration recipes reach 0.3 at most, the saturated
ones 0.55 to 0.9."""
VANISHING_RATIO = 1e-3
"""Vanishing gradient: the first layer's relative gradient ``‖∂L/∂W‖/‖W‖`` is below 1/1000 of
the last layer's, at two measured steps in a row."""
EXPLODING_RELATIVE = 10.0
"""Exploding gradient: some layer's relative gradient ``‖∂L/∂W‖/‖W‖`` above 10 (a plain SGD
step at lr 0.1 would then move the layer by its own size), or above 1000 times its first
measured value. The healthy calibration recipes stay below 0.8, the exploding ones reach 90
and more."""
UPDATE_HIGH = 0.1
"""Learning rate too high: the median layer moves by more than a tenth of its weights in one
step (‖ΔW‖/‖W‖). The healthy calibration recipes stay below 0.01."""
UPDATE_LOW = 1e-6
"""Learning rate too low: no layer moves by more than a millionth of its weights per step."""
SLOW_DROP = 0.2
"""Slow convergence: after :data:`SLOW_AFTER` windows and :data:`SLOW_STEPS` steps, no window's
mean loss has fallen more than 20 % below the first window's (the healthy calibration recipes
fall by a third or more)."""
SLOW_AFTER = 4
SLOW_STEPS = 150
OSCILLATION = 0.5
"""Oscillating loss: the minibatch losses of the three newest windows vary by more than half
their mean (coefficient of variation), and the loss has not fallen below 80 % of its first
window's value."""
LOSS_RISE = 0.25
"""Oscillating loss, also: a window's mean loss lies above the lowest one before it by more
than a quarter of the first measured loss (the steps threw the network back uphill). The healthy
calibration recipes never rise by more than 0.01 of their start, those whose large steps
broke them by 1.5 and more (the ones that train despite their large steps by 0.04 at most)."""
START_LOSS = 3.0
"""Exploding activations: the loss before the first step is more than 3 × ln(classes), the
loss of an even guess (CS231n: check the loss at the start). The outputs are then far too
large, most often from an init too large for the layers' fan-in. The healthy calibration
recipes start at 1.7 × ln(classes) at most, the ones with a too large init at 3.9 × and more."""
CHANCE_FACTOR = 1.5
"""Accuracy at chance: after an epoch, the training accuracy is below 1.5 / classes."""


def find_symptoms(windows: Sequence[Window], *, train_acc: float | None = None,
                  classes: int | None = None) -> list[LiveVerdict]:
    """The symptoms that hold at the newest of ``windows`` (oldest first).

    >>> w = Window(0, float("nan"), None, [])
    >>> [v.kind for v in find_symptoms([w])]
    ['nan']
    """
    if not windows:
        return []
    now = windows[-1]
    out = _nan(now)
    if out:
        return out
    out += _start(windows, classes)
    out += _gradients(windows)
    out += _units(windows)
    out += _loss(windows)
    out += _updates(windows)
    if train_acc is not None and classes and classes > 1 and train_acc < CHANCE_FACTOR / classes:
        out.append(_verdict("chance", now.step, "", {"train_acc": train_acc, "chance": 1 / classes},
                            f"accuracy at chance: {100 * train_acc:.1f} % on training data with "
                            f"{classes} classes (chance {100 / classes:.1f} %)"))
    return [v for i, v in enumerate(out) if all(u.kind != v.kind for u in out[:i])]


def _verdict(kind: str, step: int, layer: str, numbers: dict[str, float], message: str) -> LiveVerdict:
    return LiveVerdict(kind, step, layer, {k: float(v) for k, v in numbers.items()}, message,
                       FIXES[kind])


def _nan(now: Window) -> list[LiveVerdict]:
    if now.loss is not None and not math.isfinite(now.loss):
        return [_verdict("nan", now.step, "", {}, f"the loss is {now.loss}")]
    bad = next((w for w in now.layers if (w.weight is not None and not math.isfinite(w.weight))
                or (w.grad is not None and not math.isfinite(w.grad))), None)
    if bad is not None:
        return [_verdict("nan", now.step, bad.name, {}, f"non-finite weights or gradients in "
                         f"layer {bad.name}")]
    return []


def _start(windows: Sequence[Window], classes: int | None) -> list[LiveVerdict]:
    first = windows[0]
    if (len(windows) > 1 or first.step != 0 or first.loss is None or not classes or classes < 2
            or first.loss <= START_LOSS * math.log(classes)):
        return []
    even = math.log(classes)
    head = first.layers[-1] if first.layers else None
    numbers = {"loss": first.loss, "even_guess": even}
    where = ""
    if head is not None and head.act_std is not None:
        numbers["output_std"] = head.act_std
        where = f"; the outputs of layer {head.name} have std {head.act_std:.3g}"
    return [_verdict("exploding", first.step, head.name if head is not None else "", numbers,
                     f"exploding activations: the loss starts at {first.loss:.3g}, "
                     f"{first.loss / even:.1f}× the {even:.2f} of an even guess over {classes} "
                     f"classes{where}")]


def _gradients(windows: Sequence[Window]) -> list[LiveVerdict]:
    now = windows[-1]
    rel = [(w.relative_grad, w) for w in now.layers if w.relative_grad is not None]
    if not rel:
        return []
    top, layer = max(rel, key=lambda pair: pair[0])
    first = _first_relative(windows[0], layer.name)
    if top > EXPLODING_RELATIVE or (first and top > 1e3 * first):
        return [_verdict("exploding", now.step, layer.name, {"relative_grad": top},
                         f"exploding gradient: ‖∂L/∂W‖/‖W‖ = {top:.3g} in layer {layer.name}")]
    if len(windows) >= 2 and all(_vanishing(w) is not None for w in windows[-2:]):
        ratio, low, high = _vanishing(now)  # type: ignore[misc]
        return [_verdict("vanishing", now.step, low, {"ratio": ratio},
                         f"vanishing gradient: layer {low} gets {ratio:.2g} of the relative "
                         f"gradient (‖∂L/∂W‖/‖W‖) of layer {high}")]
    return []


def _vanishing(window: Window) -> tuple[float, str, str] | None:
    rel = [(w.relative_grad, w.name) for w in window.layers if w.relative_grad is not None]
    if len(rel) < 3 or rel[-1][0] <= 0:
        return None
    ratio = rel[0][0] / rel[-1][0]
    return (ratio, rel[0][1], rel[-1][1]) if ratio < VANISHING_RATIO else None


def _first_relative(window: Window, name: str) -> float | None:
    return next((w.relative_grad for w in window.layers if w.name == name), None)


def _units(windows: Sequence[Window]) -> list[LiveVerdict]:
    if len(windows) < 2:
        return []
    now, before = windows[-1], windows[-2]
    out = []
    for attr, kind, limit, what in (("dead", "dying_relu", DEAD_SHARE, "units never fire"),
                                    ("saturated", "saturated", SATURATED_SHARE,
                                     "outputs sit within 0.01 of a bound")):
        hits = [(getattr(w, attr), w) for w, b in zip(now.layers, before.layers, strict=True)
                if getattr(w, attr) is not None and getattr(b, attr) is not None
                and getattr(w, attr) >= limit and getattr(b, attr) >= limit]
        if hits:
            share, layer = max(hits, key=lambda pair: pair[0])
            out.append(_verdict(kind, now.step, layer.name, {attr: share, "layers": len(hits)},
                                f"{kind.replace('_', ' ')}: {100 * share:.0f} % of the "
                                f"{layer.activation} {what} in layer {layer.name}"
                                + (f" ({len(hits)} layers)" if len(hits) > 1 else "")))
            if kind == "dying_relu":
                out += _killed(windows[0], [w for _, w in hits], now.step)
    return out


def _killed(first: Window, dead: list[LayerWindow], step: int) -> list[LiveVerdict]:
    """Learning rate too high: units that fired at the first measured step died while training
    (CS231n: relu units die from a bad init or, later, from too large steps)."""
    was = {w.name: w.dead for w in first.layers if w.dead is not None}
    killed = [w for w in dead if first.step < step and was.get(w.name) is not None
              and was[w.name] < ALIVE_SHARE]
    if not killed:
        return []
    layer = max(killed, key=lambda w: w.dead or 0.0)
    return [_verdict("lr_high", step, layer.name, {"dead": layer.dead or 0.0,
                                                   "dead_at_start": was[layer.name] or 0.0},
                     f"learning rate too high: {100 * (layer.dead or 0):.0f} % of the units of "
                     f"layer {layer.name} died while training ({100 * (was[layer.name] or 0):.0f} % "
                     f"at step {first.step})")]


def _loss(windows: Sequence[Window]) -> list[LiveVerdict]:
    losses = [w.loss for w in windows if w.loss is not None]
    now = windows[-1]
    if len(losses) < 2 or now.loss is None or losses[0] <= 0:
        return []
    first, low = losses[0], min(losses[:-1])
    recent = [w.loss_cv for w in windows[-3:] if w.loss_cv is not None]
    if now.loss - low > LOSS_RISE * first:
        return [_verdict("oscillating", now.step, "", {"loss": now.loss, "lowest": low,
                                                       "first_loss": first},
                         f"oscillating loss: the loss rose to {now.loss:.3g} from {low:.3g}, by "
                         f"{(now.loss - low) / first:.2f} of its start ({first:.3g})")]
    if len(recent) == 3 and min(recent) > OSCILLATION and now.loss > 0.8 * first:
        return [_verdict("oscillating", now.step, "", {"loss_cv": min(recent)},
                         f"oscillating loss: the minibatch losses vary by {min(recent):.2f} of "
                         f"their mean, and the loss ({now.loss:.3g}) is not below its start "
                         f"({first:.3g})")]
    if (len(losses) >= SLOW_AFTER and now.step >= SLOW_STEPS
            and min(losses[1:]) > (1 - SLOW_DROP) * first):
        return [_verdict("slow", now.step, "", {"loss": now.loss, "first_loss": first},
                         f"loss not decreasing: {now.loss:.3g} after {now.step} steps, "
                         f"against {first:.3g} at the start")]
    return []


def _updates(windows: Sequence[Window]) -> list[LiveVerdict]:
    now = windows[-1]
    ratios = [w.update for w in now.layers if w.update is not None and math.isfinite(w.update)]
    if not ratios:
        return []
    median = sorted(ratios)[len(ratios) // 2]
    if median > UPDATE_HIGH:
        return [_verdict("lr_high", now.step, "", {"update_ratio": median},
                         f"learning rate too high: a step moves the median layer by "
                         f"{median:.2g} of its weights (‖ΔW‖/‖W‖; about 1e-3 is typical)")]
    if max(ratios) < UPDATE_LOW:
        return [_verdict("lr_low", now.step, "", {"update_ratio": max(ratios)},
                         f"learning rate too low: no layer moves by more than {max(ratios):.2g} "
                         "of its weights per step (‖ΔW‖/‖W‖; about 1e-3 is typical)")]
    return []


