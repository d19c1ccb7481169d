"""Verdicts: what a probe's numbers say about why a network does not train, and what to change.

:func:`judge` reads the per-layer statistics of a :class:`~trainwell.diagnose.diagnosis.Diagnosis`
and returns :class:`~trainwell.diagnose.diagnosis.Verdict` objects, most fundamental cause first
(identical units before the dead units and vanishing gradient they cause), or one ``healthy``
verdict. :func:`diagnose` is :func:`~trainwell.diagnose.probes.probe` followed by :func:`judge`.
Each kind has its check in :mod:`~trainwell.diagnose.checks`; every threshold is a named
constant in :mod:`~trainwell.diagnose.thresholds`, with why it has its value.
:mod:`~trainwell.diagnose.outcome` makes the verdicts agree with how a run ended. The papers
the checks follow are named in :mod:`~trainwell.diagnose.checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from trainwell.diagnose.checks import (
    Facts,
    activation_scale,
    dead,
    gradient_flow,
    healthy,
    learning_rate,
    non_finite,
    saturated,
    symmetric,
)
from trainwell.diagnose.diagnosis import Diagnosis, LayerStats, Verdict
from trainwell.diagnose.probes import BINS, probe

__all__ = ["VERDICT_KINDS", "judge", "diagnose"]

VERDICT_KINDS = ("non_finite", "symmetric", "dead", "saturated", "exploding_activations",
                 "vanishing_activations", "vanishing_gradient", "exploding_gradient",
                 "lr_too_high", "lr_too_low", "not_trained", "healthy")
"""Every verdict kind, in the order :func:`judge` reports them: causes before consequences."""


def diagnose(model: nn.Module, batch: torch.Tensor, targets: torch.Tensor | None = None, *,
             loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             optimizer: torch.optim.Optimizer | None = None, bins: int = BINS,
             used: Iterable[str] = ()) -> Diagnosis:
    """Probe ``model`` on ``batch`` (see :func:`~trainwell.diagnose.probes.probe`) and judge it.

    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> _ = [nn.init.zeros_(p) for p in net.parameters()]
    >>> d = diagnose(net, torch.randn(64, 8), torch.randint(0, 3, (64,)))
    >>> d.verdicts[0].kind
    'symmetric'
    """
    found = probe(model, batch, targets=targets, loss_fn=loss_fn, optimizer=optimizer, bins=bins)
    found.verdicts = judge(found.layers, loss=found.loss, used=used)
    return found


def judge(layers: Sequence[LayerStats], *, loss: float | None = None,
          used: Iterable[str] = ()) -> list[Verdict]:
    """The verdicts on ``layers`` (forward order), causes first; ``[healthy]`` when none apply.

    ``used``: what the network already uses (its init scheme, ``batch_norm``), which no fix
    then advises.

    >>> judge([])[0].kind
    'healthy'
    """
    facts = Facts.of(layers, loss=loss, used=used)
    out = [v for check in (non_finite, symmetric, dead, saturated, activation_scale, gradient_flow)
           for v in check(facts)]
    out += learning_rate(facts, out)
    return out or [healthy(layers)]
