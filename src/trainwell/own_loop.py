"""Initialize a model for a training loop of your own: a static scheme by name, or LSUV on a batch.

These are the calls ``trainwell`` exports for a loop it does not run (with
:func:`trainwell.diagnose` and :class:`trainwell.GradientFlowRecorder`): each works on any
``nn.Module``, changes it in place and returns it, so it chains with the model's creation.

>>> import torch
>>> from torch import nn
>>> import trainwell as tw
>>> g = torch.Generator().manual_seed(0)
>>> model = tw.init_(nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3)),
...                  "he_normal", generator=g)
>>> model = tw.lsuv_(model, torch.randn(256, 20, generator=g), generator=g)
>>> round(model[0](torch.randn(256, 20, generator=g)).std().item(), 1)
1.0
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init import INITIALIZERS, apply_
from trainwell.init import lsuv as _lsuv
from trainwell.names import get

__all__ = ["init_", "lsuv_", "DATA_DRIVEN", "TORCH_NAMES"]

TORCH_NAMES = {"xavier_normal": "glorot_normal", "xavier_uniform": "glorot_uniform",
               "kaiming_normal": "he_normal", "kaiming_uniform": "he_uniform"}
"""torch.nn.init's names for schemes :func:`init_` knows under the papers' authors' names."""

DATA_DRIVEN = {"lsuv": "trainwell.lsuv_(model, batch)",
               "dbn": "trainwell.pretrain.dbn_pretrain_(model, inputs)"}
"""Schemes that learn from data, so :func:`init_` cannot apply them by name: their calls."""


def init_(model: nn.Module, scheme: str, *, bias: float | None = None,
          generator: torch.Generator | None = None, **options: Any) -> nn.Module:
    """Initialize every Linear and Conv weight of ``model`` with the static ``scheme``, in place;
    return ``model``.

    ``scheme`` is a name of :data:`trainwell.init.INITIALIZERS` (``he_normal``,
    ``lecture_xavier``, ``orthogonal``, ...: ``trainwell list`` shows them with their
    formulas), or torch.nn.init's name for one (``xavier_normal`` is ``glorot_normal``,
    ``kaiming_normal`` is ``he_normal``); ``options`` are that scheme's keyword options
    (``nonlinearity``, ``mode``, ``gain``, ...) and ``bias`` the biases' value (``None``:
    0). Everything else is as :func:`trainwell.init.apply_`, which this calls: a
    ``nonlinearity`` left out is read off the model's activation modules. An unknown scheme or option raises
    :class:`~trainwell.ConfigError` naming it and the allowed values.

    >>> net = init_(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), "glorot_uniform")
    >>> bool((net[0].bias == 0).all())
    True
    >>> init_(net, "kaiming_normal", nonlinearity="relu") is net
    True
    >>> init_(net, "he_nomral")
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: scheme = 'he_nomral': expected one of ... (did you mean 'he_normal'?)
    """
    _check_model(model)
    if scheme in DATA_DRIVEN:
        raise ConfigError("scheme", scheme, f"a static scheme ({', '.join(sorted(INITIALIZERS))}); "
                          f"{scheme} learns from data: call {DATA_DRIVEN[scheme]}")
    scheme = TORCH_NAMES.get(scheme, scheme)
    get(INITIALIZERS, scheme, key="scheme")
    return apply_(model, scheme, bias=bias, generator=generator, **options)


def lsuv_(
    model: nn.Module,
    batch: torch.Tensor | tuple[torch.Tensor, ...] | list[torch.Tensor],
    *,
    target_std: Annotated[float, Field(gt=0)] = 1.0,
    tol: Annotated[float, Field(gt=0)] = 0.1,
    max_iter: Annotated[int, Field(ge=1)] = 10,
    orthonormal: bool = True,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """LSUV (Mishkin & Matas, "All you need is a good init", ICLR 2016) on ``batch``, in place;
    return ``model``.

    An orthonormal start, then each Linear/Conv layer in forward order rescaled until its
    output's std on ``batch`` is ``target_std`` within ``tol``
    (:func:`trainwell.init.lsuv_`, which returns the per-layer report instead of the model).
    ``batch`` is a tensor of inputs (at least 16 samples; a few hundred hold on other
    batches) or the ``(inputs, targets)`` pair a DataLoader yields. A layer that ends outside
    the tolerance after ``max_iter`` rescalings gives a ``UserWarning`` naming it.

    >>> net = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 2))
    >>> x, y = torch.randn(128, 10), torch.randint(0, 2, (128,))
    >>> lsuv_(net, (x, y)) is net
    True
    """
    _check_model(model)
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        batch = batch[0]
    report = _lsuv.lsuv_(model, batch, target_std=target_std, tol=tol, max_iter=max_iter,  # type: ignore[arg-type]
                         orthonormal=orthonormal, generator=generator)
    missed = [layer.name for layer in report.layers if not layer.converged]
    if missed:
        warnings.warn(f"LSUV left layer(s) {', '.join(missed)} outside std {target_std:g} ± {tol:g} "
                      f"after {max_iter} rescalings; trainwell.init.lsuv_ returns the per-layer report",
                      UserWarning, stacklevel=2)
    return model


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise ConfigError("model", type(model).__name__, "a torch.nn.Module")
