"""Learning-rate schedules: a schedule is just ``step -> lr`` (as in optax).

Every named schedule is a factory ``factory(base_lr, total, /, **options) -> (t -> lr)`` over
``total`` units ``t = 0, 1, ...``; its keyword-only options are the schema of a recipe's
``[schedule]`` table. :func:`make_schedule` turns one into a function of the global optimizer
step: it counts in epochs (``per = "epoch"``: the lr is constant within an epoch) or in steps,
and may put a linear warm-up of ``warmup`` units in front. :class:`LRSchedule` is the trainer
callback that applies it.

>>> lr = make_schedule("step", base_lr=0.1, total_steps=100, steps_per_epoch=10, step_size=3)
>>> [round(lr(s), 4) for s in (0, 29, 30, 60)]
[0.1, 0.1, 0.01, 0.001]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError
from trainwell.names import get
from trainwell.params import validate_params

if TYPE_CHECKING:
    from trainwell.loop.events import TrainState

__all__ = ["SCHEDULES", "DESCRIPTIONS", "Schedule", "make_schedule", "schedule_options",
           "LRSchedule", "constant", "step_decay", "exponential_decay", "inverse_time_decay",
           "cosine_decay", "cosine_restarts", "cyclic_cosine", "cycle_length", "one_cycle"]

Schedule = Callable[[int], float]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=1)]


def _cos_interp(start: float, end: float, p: float) -> float:
    """From ``start`` (p = 0) to ``end`` (p = 1) along half a cosine."""
    return end + (start - end) * (1 + math.cos(math.pi * min(max(p, 0.0), 1.0))) / 2


def constant(base_lr: float, total: int, /) -> Schedule:
    """The same lr throughout: ``lr_t = lr``."""
    return lambda t: base_lr


def step_decay(base_lr: float, total: int, /, *, step_size: Count = 30,
               gamma: Positive = 0.1) -> Schedule:
    """Step decay: ``lr_t = lr * gamma ** (t // step_size)``.

    The defaults (drop 10x every 30 epochs) are ResNet's ImageNet schedule: He et al., "Deep
    Residual Learning for Image Recognition", 2016.
    """
    return lambda t: base_lr * gamma ** (t // step_size)


def exponential_decay(base_lr: float, total: int, /, *,
                      gamma: Annotated[float, Field(gt=0, le=1)] = 0.95) -> Schedule:
    """Exponential decay: ``lr_t = lr * gamma ** t``."""
    return lambda t: base_lr * gamma ** t


def inverse_time_decay(base_lr: float, total: int, /, *, decay: Positive = 0.1) -> Schedule:
    """1/t decay: ``lr_t = lr / (1 + decay * t)`` (Robbins & Monro 1951 step sizes)."""
    return lambda t: base_lr / (1 + decay * t)


def cosine_decay(base_lr: float, total: int, /, *, min_lr: NonNegative = 0.0) -> Schedule:
    """Half a cosine from ``lr`` to ``min_lr`` over the run (``T = total``, held after it).

    ``lr_t = min_lr + (lr - min_lr) (1 + cos(pi t / T)) / 2``. Loshchilov & Hutter, "SGDR:
    Stochastic Gradient Descent with Warm Restarts", 2017.
    """
    return lambda t: _cos_interp(base_lr, min_lr, t / total)


def cosine_restarts(base_lr: float, total: int, /, *, t0: Count = 10, t_mult: Count = 2,
                    min_lr: NonNegative = 0.0) -> Schedule:
    """SGDR: cosine decay restarted every period; period ``i`` lasts ``t0 * t_mult ** i`` units.

    Within a period, ``lr_t = min_lr + (lr - min_lr) (1 + cos(pi t_cur / T_i)) / 2``.
    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", 2017.
    """
    def lr_at(t: int) -> float:
        period, start = t0, 0
        while t >= start + period:
            start, period = start + period, period * t_mult
        return _cos_interp(base_lr, min_lr, (t - start) / period)
    return lr_at


def cycle_length(total: int, cycles: int) -> int:
    """Units per cycle of :func:`cyclic_cosine`: ``ceil(total / cycles)``.

    >>> cycle_length(100, 5), cycle_length(10, 3)
    (20, 4)
    """
    return max(1, math.ceil(total / cycles))


def cyclic_cosine(base_lr: float, total: int, /, *, cycles: Count = 5) -> Schedule:
    """Snapshot ensembles' schedule: ``cycles`` equal cosine cycles, each from ``lr`` to 0.

    ``lr_t = lr / 2 * (cos(pi * mod(t, L) / L) + 1)`` with ``L = ceil(T / cycles)``, for
    ``t = 0 .. T-1`` (the paper's ``t - 1``): the lr restarts at ``lr`` at ``t = L, 2L, ...``
    and a model converged to a minimum is ready at the end of every cycle. Huang et al.,
    "Snapshot Ensembles: Train 1, get M for free", 2017, eq. 2.

    >>> lr = cyclic_cosine(1.0, 8, cycles=2)
    >>> [round(lr(t), 3) for t in range(8)]
    [1.0, 0.854, 0.5, 0.146, 1.0, 0.854, 0.5, 0.146]
    """
    length = cycle_length(total, cycles)
    return lambda t: base_lr / 2 * (math.cos(math.pi * (t % length) / length) + 1)


def one_cycle(base_lr: float, total: int, /, *,
              pct_start: Annotated[float, Field(gt=0, lt=1)] = 0.3,
              div_factor: Annotated[float, Field(ge=1)] = 25.0,
              final_div_factor: Annotated[float, Field(ge=1)] = 1e4) -> Schedule:
    """One cycle: up from ``lr / div_factor`` to the peak ``lr``, then down to
    ``lr / (div_factor * final_div_factor)``, both halves along a cosine.

    The rise takes ``round(pct_start * T)`` units (at least 1); the fall ends at the last unit.
    Smith, "A disciplined approach to neural network hyper-parameters", 2018.

    **Note**: the peak is the optimizer's lr (torch's ``OneCycleLR`` calls it ``max_lr``).
    """
    start = base_lr / div_factor
    end = start / final_div_factor
    up = max(1, round(pct_start * total))
    down = max(1, total - 1 - up)
    return lambda t: (_cos_interp(start, base_lr, t / up) if t < up
                      else _cos_interp(base_lr, end, (t - up) / down))


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant, "step": step_decay, "exponential": exponential_decay,
    "inverse_time": inverse_time_decay, "cosine": cosine_decay,
    "cosine_restarts": cosine_restarts, "cyclic_cosine": cyclic_cosine, "one_cycle": one_cycle,
}

DESCRIPTIONS = {
    "constant": "the optimizer's lr throughout",
    "step": "drop by gamma (0.1) every step_size (30) epochs, as in ResNet",
    "exponential": "lr * gamma^t, gamma 0.95",
    "inverse_time": "1/t decay: lr / (1 + decay*t)",
    "cosine": "half a cosine from lr down to min_lr over the run",
    "cosine_restarts": "SGDR: cosine decay restarted after t0, t0*t_mult, ... units",
    "cyclic_cosine": "snapshot ensembles' schedule: `cycles` equal cosine cycles from lr to 0",
    "one_cycle": "warm up to the peak lr, then anneal far below it (Smith 2018)",
}


def _common(*, per: Literal["epoch", "step"] = "epoch",
            warmup: Annotated[int, Field(ge=0)] = 0) -> None:
    """Options every schedule takes: its unit and the length of its linear warm-up."""


def schedule_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check a ``[schedule]`` table's options (``name`` left out); return them, defaults filled in.

    Raises :class:`ConfigError` naming ``schedule.<key>``.

    >>> schedule_options("cosine", {"per": "step"})
    {'per': 'step', 'warmup': 0, 'min_lr': 0.0}
    """
    factory = get(SCHEDULES, name, key="schedule.name")
    common = {k: options[k] for k in ("per", "warmup") if k in options}
    own = {k: v for k, v in options.items() if k not in common}
    return {**validate_params(_common, common, key="schedule"),
            **validate_params(factory, own, key="schedule")}


def make_schedule(name: str, *, base_lr: float, total_steps: int, steps_per_epoch: int,
                  warmup: int = 0, per: str = "epoch", **options: Any) -> Schedule:
    """The lr at each global optimizer step ``0 .. total_steps - 1`` for schedule ``name``.

    ``t = step // steps_per_epoch`` for ``per = "epoch"``, ``t = step`` for ``"step"``. The
    first ``warmup`` units climb linearly, ``lr (t + 1) / (warmup + 1)`` (Goyal et al.,
    "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017); the named schedule
    then runs over the remaining units as if they were the whole run.

    >>> lr = make_schedule("cosine", base_lr=1.0, total_steps=5, steps_per_epoch=1, warmup=1)
    >>> [round(lr(s), 3) for s in range(5)]
    [0.5, 1.0, 0.854, 0.5, 0.146]
    """
    if not base_lr > 0:
        raise ConfigError("optim.lr", base_lr, "a number > 0 for a schedule to scale")
    if total_steps < 1 or steps_per_epoch < 1:
        raise ConfigError("schedule", (total_steps, steps_per_epoch),
                          "a run of at least one step (total_steps, steps_per_epoch >= 1)")
    opts = schedule_options(name, {**options, "per": per, "warmup": warmup})
    per, warmup = opts.pop("per"), opts.pop("warmup")
    if opts.get("min_lr", 0.0) > base_lr:
        raise ConfigError("schedule.min_lr", opts["min_lr"], f"at most the lr {base_lr}")
    units = total_steps if per == "step" else math.ceil(total_steps / steps_per_epoch)
    if warmup >= units:
        raise ConfigError("schedule.warmup", warmup,
                          f"fewer {per}s than the run's {units} (the schedule needs room after it)")
    main = SCHEDULES[name](base_lr, units - warmup, **opts)
    size = 1 if per == "step" else steps_per_epoch

    def lr_at(step: int) -> float:
        t = step // size
        return base_lr * (t + 1) / (warmup + 1) if t < warmup else float(main(t - warmup))
    return lr_at


class LRSchedule:
    """A trainer callback that sets each param group's lr from ``schedule(state.step)`` before
    each optimizer step (see :mod:`trainwell.loop.events`).

    ``schedule`` is a ``step -> lr`` function, or a name of :data:`SCHEDULES` with its
    ``options`` (checked at once): then it is built by :func:`make_schedule` at ``before_fit``
    from the run's length and the lr of the first param group at that moment. Every group
    follows the schedule relative to its own base lr (its ``initial_lr``, set on first sight):
    its lr is ``initial_lr * schedule(step) / schedule's base``, so groups with different lrs
    (discriminative learning rates) keep their ratios. The optimizer is touched only when the
    value changes. The lr each optimizer step used (of the first group, after every
    ``before_step`` callback: an SWA lr that replaces the schedule's is the one recorded) is
    appended to ``state.history.step_lr`` (the trainer's per-epoch ``lr`` is the last step's).

    >>> cb = LRSchedule("cosine", per="step", warmup=100)
    """

    order = ORDER["schedule"]

    def __init__(self, schedule: Schedule | str, **options: Any) -> None:
        if isinstance(schedule, str):
            self._named = (schedule, schedule_options(schedule, options))
        elif options:
            raise TypeError("options go with a schedule name, not a schedule function")
        self.schedule = schedule
        self._base = 1.0
        self._last: float | None = None

    def before_fit(self, state: TrainState) -> None:
        for group in state.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self._base = float(state.optimizer.param_groups[0]["initial_lr"])
        if isinstance(self.schedule, str):
            name, options = self._named
            self.schedule = make_schedule(
                name, base_lr=self._base, total_steps=state.epochs * state.steps_per_epoch,
                steps_per_epoch=state.steps_per_epoch, **options)
        self._last = None
        state.history.step_lr = []

    def before_step(self, state: TrainState) -> None:
        assert not isinstance(self.schedule, str), "before_fit builds a named schedule"
        lr = float(self.schedule(state.step))
        if lr != self._last:
            factor = lr / self._base if self._base else None
            for group in state.optimizer.param_groups:
                base = group.setdefault("initial_lr", group["lr"])
                group["lr"] = lr if factor is None or base == self._base else base * factor
            self._last = lr

    def after_step(self, state: TrainState) -> None:
        state.history.step_lr.append(float(state.optimizer.param_groups[0]["lr"]))
