"""Layer-sequential unit-variance (LSUV) initialization: rescale each layer until its output has unit std.

An orthonormal start keeps signals well scaled in a linear net; LSUV then corrects, layer by
layer on a batch of real data, for what the activations and the data do to that scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError, TrainwellError
from trainwell.init.layers import LAYERS, WeightedLayer
from trainwell.init.orthogonal import orthogonal_

__all__ = ["lsuv_", "lsuv_init_", "LSUVReport", "LSUVLayer", "MIN_BATCH"]

MIN_BATCH = 16
"""Fewest samples :func:`lsuv_` accepts: below this the std of a layer's output is mostly noise."""


@dataclass(frozen=True)
class LSUVLayer:
    """What LSUV did to one layer: its output std before and after, and the rescalings it took."""

    name: str
    std_before: float
    std_after: float
    iterations: int
    converged: bool


@dataclass(frozen=True)
class LSUVReport:
    """The layers :func:`lsuv_` rescaled, in forward order, and the target it aimed at."""

    layers: tuple[LSUVLayer, ...]
    target_std: float
    tol: float
    max_iter: int

    @property
    def converged(self) -> bool:
        """True when every layer ended within ``tol`` of ``target_std``."""
        return all(layer.converged for layer in self.layers)

    def __str__(self) -> str:
        width = max([len("layer")] + [len(layer.name) for layer in self.layers])
        lines = [f"LSUV: target std {self.target_std:g} ± {self.tol:g}, at most {self.max_iter} "
                 "rescalings per layer",
                 f"{'layer':<{width}}  {'std before':>10}  {'std after':>9}  {'iters':>5}  converged"]
        for layer in self.layers:
            lines.append(f"{layer.name:<{width}}  {layer.std_before:>10.4g}  {layer.std_after:>9.4g}  "
                         f"{layer.iterations:>5d}  {'yes' if layer.converged else 'NO'}")
        return "\n".join(lines)


class _Reached(BaseException):
    """Stops a forward pass once the measured layer has run; a BaseException so that a model's
    own ``except Exception`` cannot swallow it."""


def lsuv_(
    model: nn.Module,
    batch: torch.Tensor,
    *,
    target_std: Annotated[float, Field(gt=0)] = 1.0,
    tol: Annotated[float, Field(gt=0)] = 0.1,
    max_iter: Annotated[int, Field(ge=1)] = 10,
    orthonormal: bool = True,
    generator: torch.Generator | None = None,
) -> LSUVReport:
    """Initialize ``model`` in place so that every Linear/Conv output has std ``target_std`` on ``batch``.

    1. If ``orthonormal``: every ``nn.Linear`` / ``nn.ConvNd`` weight gets a random orthogonal
       matrix of gain 1 (:func:`~trainwell.init.orthogonal_`), every bias 0.
    2. One forward pass records the layers in the order they are called (nested modules
       included).
    3. For each layer ``L`` in that order, with ``B_L`` its output on ``batch``:
       while ``|std(B_L) - target_std| > tol`` and fewer than ``max_iter`` rescalings were
       done, ``W_L ← W_L / (std(B_L) / target_std)``.

    ``std(B_L)`` is taken over all elements of the output (samples, units, positions). With
    zero biases one rescaling is exact; a nonzero bias needs more. In a maxout layer the
    Linear/Conv inside it is rescaled: its output is the pieces before the maximum. The
    output layer is rescaled too, as in the paper. Runs under ``torch.no_grad()``; a layer
    that ends outside the tolerance is marked ``converged=False`` in the report. ``batch``
    needs at least :data:`MIN_BATCH` (16) samples; a few hundred give a std that holds on
    other batches of the same data.

    **Note**: the paper's tolerance is on the variance, ``|Var(B_L) - 1| < 0.1``; here it is on
    the std and ``target_std`` may differ from 1. The passes run with every module in eval
    mode and each module's mode is restored afterwards: dropout is off and batch norm uses
    its running statistics, which for a new model are mean 0, variance 1, so it passes the
    Linear/Conv output through unchanged and LSUV sees the network as the paper does, without
    normalization; the running statistics are not updated. With batch norm after a layer the
    layer's scale is then undone in training (batch norm renormalizes it); LSUV still sets the
    Linear/Conv output std, which fixes the effective step size of that layer's weights.

    A layer called more than once in one forward pass (shared weights) has no single output
    to rescale and is rejected; a layer never called is left as step 1 made it.

    Reference: D. Mishkin, J. Matas, "All you need is a good init", ICLR 2016; A. Saxe, J.
    McClelland, S. Ganguli, "Exact solutions to the nonlinear dynamics of learning in deep
    linear neural networks", 2013.

    >>> net = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 5))
    >>> g = torch.Generator().manual_seed(0)
    >>> report = lsuv_(net, torch.randn(64, 20, generator=g), generator=g)
    >>> report.converged, [layer.name for layer in report.layers]
    (True, ['0', '2'])
    """
    _check_options(target_std, tol, max_iter, orthonormal)
    _check_batch(batch)
    names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}
    layers = [m for m in model.modules() if isinstance(m, LAYERS)]
    if not layers:
        raise TrainwellError(f"LSUV rescales Linear and Conv layers (nn.Linear, nn.Conv1d/2d/3d), and "
                             f"{type(model).__name__} has none: initialize it with a static scheme "
                             "(trainwell.init.apply_) instead")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            if orthonormal:
                for layer in layers:
                    orthogonal_(layer.weight, nonlinearity="linear", generator=generator)
                    if layer.bias is not None:
                        layer.bias.zero_()
            order = _forward_order(model, batch, layers, names)
            results = []
            for i, layer in enumerate(order):
                results.append(_rescale(model, batch, layer, names[id(layer)], first=i == 0,
                                        target_std=target_std, tol=tol, max_iter=max_iter))
    finally:
        for module, training in modes.items():
            module.train(training)
    return LSUVReport(tuple(results), float(target_std), float(tol), int(max_iter))


def _check_options(target_std: float, tol: float, max_iter: int, orthonormal: bool) -> None:
    def number(x: object) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    if not (number(target_std) and target_std > 0):
        raise ConfigError("init.target_std", target_std, "a finite number > 0 (the std every "
                          "layer's output should have; the paper uses 1)")
    if not (number(tol) and 0 < tol < target_std):
        raise ConfigError("init.tol", tol, f"a number > 0 and < init.target_std = {target_std!r} "
                          "(how far a layer's output std may stay from the target)")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ConfigError("init.max_iter", max_iter, "an integer >= 1 (rescalings per layer)")
    if not isinstance(orthonormal, bool):
        raise ConfigError("init.orthonormal", orthonormal, "true or false")


def _check_batch(batch: object) -> None:
    if not isinstance(batch, torch.Tensor) or not batch.is_floating_point() or batch.dim() < 2:
        what = (f"a {batch.dtype} tensor of shape {tuple(batch.shape)}" if isinstance(batch, torch.Tensor)
                else f"a {type(batch).__name__}")
        raise TrainwellError(f"LSUV needs a batch of inputs: a float tensor (samples, ...) such as "
                             f"dataset.x_train[:256]; got {what}")
    if len(batch) < MIN_BATCH:
        raise TrainwellError(f"LSUV needs a batch of at least {MIN_BATCH} samples to estimate each "
                             f"layer's output std; got {len(batch)}. Pass more, e.g. "
                             "dataset.x_train[:256]")
    if not torch.isfinite(batch).all():
        raise TrainwellError("LSUV got a batch with nan or inf values; clean the data first")


def _forward_order(model: nn.Module, batch: torch.Tensor, layers: list[WeightedLayer],
                   names: dict[int, str]) -> list[WeightedLayer]:
    """The layers in the order one forward pass calls them; a layer called twice is an error."""
    calls: list[WeightedLayer] = []

    def record(layer: WeightedLayer) -> Callable[..., None]:
        return lambda module, inputs, output: calls.append(layer)

    handles = [layer.register_forward_hook(record(layer)) for layer in layers]
    try:
        model(batch)
    finally:
        for handle in handles:
            handle.remove()
    order: list[WeightedLayer] = []
    for module in calls:
        if module in order:
            count = sum(1 for m in calls if m is module)
            raise TrainwellError(f"layer {names[id(module)]} is called {count} times in one forward "
                                 "pass (shared weights); LSUV sets the std of a layer's one output "
                                 "and cannot serve several calls. Give each call its own layer, or "
                                 "initialize this model with a static scheme (trainwell.init.apply_)")
        order.append(module)
    if not order:
        raise TrainwellError(f"no Linear or Conv layer of {type(model).__name__} is called in its "
                             "forward pass, so LSUV has nothing to rescale")
    return order


def _output_std(model: nn.Module, batch: torch.Tensor, layer: nn.Module) -> float:
    """Std of ``layer``'s output over all its elements; the pass stops once the layer has run."""
    found: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        found.append(output.detach().float().std())
        raise _Reached

    handle = layer.register_forward_hook(hook)
    try:
        model(batch)
    except _Reached:
        pass
    finally:
        handle.remove()
    if not found:
        raise TrainwellError("a layer called in the first forward pass was not called in a later "
                             "one; LSUV needs a model whose forward pass calls the same layers each time")
    return float(found[0])


def _rescale(model: nn.Module, batch: torch.Tensor, layer: WeightedLayer, name: str, *, first: bool,
             target_std: float, tol: float, max_iter: int) -> LSUVLayer:
    """Step 3 for one layer: divide its weight by ``std / target_std`` until the std is in tolerance."""
    std = before = _checked_std(model, batch, layer, name, first)
    iterations = 0
    while abs(std - target_std) > tol and iterations < max_iter:
        layer.weight.div_(std / target_std)
        iterations += 1
        std = _checked_std(model, batch, layer, name, first)
    return LSUVLayer(name, before, std, iterations, abs(std - target_std) <= tol)


def _checked_std(model: nn.Module, batch: torch.Tensor, layer: nn.Module, name: str,
                 first: bool) -> float:
    std = _output_std(model, batch, layer)
    if not math.isfinite(std):
        raise TrainwellError(f"layer {name} outputs nan or inf on this batch; its weight or an "
                             "earlier layer's overflowed. Check the model's forward pass and the "
                             "weights it starts from")
    if std < 1e-12:
        cause = ("the batch is all zeros, or the layer's weight is all zero" if first else
                 "a dead or all-zero input reaches it: a previous layer's output is all zeros "
                 "(e.g. every ReLU unit is off), or this layer's weight is all zero")
        raise TrainwellError(f"layer {name} outputs a constant (std {std:.3g}) on this batch — "
                             f"{cause}. LSUV cannot rescale a constant output; pass a varied batch "
                             "or fix the layer before it")
    return std


def lsuv_init_(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    batch_size: Annotated[int, Field(ge=MIN_BATCH)] = 256,
    target_std: Annotated[float, Field(gt=0)] = 1.0,
    tol: Annotated[float, Field(gt=0)] = 0.1,
    max_iter: Annotated[int, Field(ge=1)] = 10,
    orthonormal: bool = True,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> LSUVReport:
    """:func:`lsuv_` on ``batch_size`` samples drawn (with ``generator``) from ``inputs``:
    the form a recipe's ``init.name = "lsuv"`` with ``init.batch_size`` uses. ``progress`` is
    accepted like the pre-trainers' and ignored: LSUV takes a few forward passes.

    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> lsuv_init_(net, torch.randn(500, 8), batch_size=128).converged
    True
    """
    pick = torch.randperm(len(inputs), generator=generator)[:batch_size].to(inputs.device)
    return lsuv_(model, inputs[pick], target_std=target_std, tol=tol, max_iter=max_iter,
                 orthonormal=orthonormal, generator=generator)
