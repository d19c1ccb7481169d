"""Probe a network on one batch: per-layer activations, dead and saturated units, gradients, weights.

Every ``nn.Linear`` / ``nn.Conv`` of the model is a *layer*, paired with the activation
module that follows it in its block (past batch norm, dropout and pooling); a Maxout layer
is its own activation. :func:`probe` runs one forward pass (and, given targets, one
backward pass) with hooks and returns a :class:`Diagnosis` of per-layer :class:`LayerStats`.
The model is left as it was: parameters, ``.grad``, buffers, optimizer state and the RNG.

Reference: A. Karpathy, J. Johnson, F.-F. Li, CS231n "Training Neural Networks" (activation
histograms, dead units, update-to-weight ratio), 2016; S. Kim, "Lecture 10-2: Initialize
weights in a smart way", 2017.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from trainwell.diagnose.diagnosis import Diagnosis, LayerStats
from trainwell.diagnose.layers import SATURATING, Layer, can_die, find_layers
from trainwell.optim.optimizers import needs_closure

__all__ = ["probe", "BINS", "SATURATION_MARGIN", "SYMMETRY_RTOL"]

BINS = 50
"""Histogram bins, spread evenly over the activations' range [min, max]."""
SATURATION_MARGIN = 0.01
"""An output is saturated within this distance of its activation's bound: sigmoid < 0.01 or
> 0.99, tanh and softsign |y| > 0.99. The slope there is under 4% of its maximum for sigmoid
(y(1 - y) < 0.0099 against 1/4) and under 2% for tanh (1 - y² < 0.02 against 1)."""
SYMMETRY_RTOL = 1e-5
"""Two units are identical when their weights (bias included) differ nowhere by more than this
fraction of the layer's largest weight: a few float32 roundings, far below any random draw."""


def probe(model: nn.Module, batch: torch.Tensor, *, targets: torch.Tensor | None = None,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
          optimizer: torch.optim.Optimizer | None = None, bins: int = BINS) -> Diagnosis:
    """Run ``model`` on ``batch`` with hooks and return what every layer did (verdicts empty).

    Per layer (see :class:`LayerStats`): activation mean, std and histogram, dead and saturated
    fractions, ``‖W‖``, the largest group of identical units. Given ``targets``, also the loss
    ``L = loss_fn(model(batch), targets)`` (default cross-entropy), ``‖∂L/∂output‖`` and
    ``‖∂L/∂W‖``; given an ``optimizer`` too, ``‖ΔW‖ / ‖W‖`` of one ``optimizer.step()`` on
    those gradients, taken and then undone (an optimizer that re-evaluates the loss, L-BFGS,
    is stepped with a closure that recomputes ``L`` on ``batch``, as the trainer's does). The
    model runs in its current train/eval mode; its buffers (batch-norm statistics), ``.grad``,
    the optimizer's state and the RNG are restored afterwards. Dead units need a batch of a
    few hundred samples to be told apart from units that merely did not fire on a small batch.

    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> d = probe(net, torch.randn(16, 4), targets=torch.zeros(16, dtype=torch.long))
    >>> [s.activation for s in d.layers], d.layers[0].grad_norm > 0
    (['relu', 'none'], True)
    """
    layers = find_layers(model)
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(index: int) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            seen[index] = (inputs[0], output)
        return hook

    loss_fn = loss_fn or F.cross_entropy
    grads: dict[Any, torch.Tensor | None] = {}
    ratios: dict[int, float] = {}
    loss = None
    with _model_kept(model, batch.device):
        handles = [layer.output.register_forward_hook(keep(layer.index)) for layer in layers]
        try:
            logits = model(batch)
        finally:
            for handle in handles:
                handle.remove()
        ran = [layer for layer in layers if layer.index in seen]
        if targets is not None:
            loss = loss_fn(logits, targets)
            grads = _gradients(model, loss, seen)
            if optimizer is not None and grads:
                closure = (_reevaluate(model, batch, targets, loss_fn, optimizer)
                           if needs_closure(optimizer) else None)
                ratios = _update_ratios(optimizer, ran, grads, closure)
    stats = [_layer_stats(layer, *seen[layer.index], grads, ratios, bins) for layer in ran]
    return Diagnosis(layers=stats, loss=None if loss is None else float(loss.detach()),
                     batch_size=len(batch))


@contextlib.contextmanager
def _model_kept(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Run the block with gradients on and a forked RNG, then put the model's buffers back."""
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            yield
    finally:
        with torch.no_grad():
            for buf, saved in buffers:
                buf.copy_(saved)


def _gradients(model: nn.Module, loss: torch.Tensor,
               seen: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> dict[Any, torch.Tensor | None]:
    """``∂L/∂output`` keyed by layer index and ``∂L/∂p`` keyed by ``id(p)``; ``.grad`` untouched."""
    if not loss.requires_grad:
        return {}
    outs = {i: out for i, (_, out) in seen.items() if out.requires_grad}
    params = [p for p in model.parameters() if p.requires_grad]
    found = torch.autograd.grad(loss, [*outs.values(), *params], allow_unused=True)
    grads: dict[Any, torch.Tensor | None] = dict(zip(outs, found[:len(outs)], strict=True))
    grads.update({id(p): g for p, g in zip(params, found[len(outs):], strict=True)})
    return grads


def _reevaluate(model: nn.Module, batch: torch.Tensor, targets: torch.Tensor,
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                optimizer: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
    """The closure an optimizer that re-evaluates the loss (L-BFGS) is stepped with: the batch
    loss at the current weights, its gradient put in ``.grad`` of the optimizer's parameters
    (and of no other tensor)."""
    params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]

    def closure() -> torch.Tensor:
        loss = loss_fn(model(batch), targets)
        if params:
            for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True), strict=True):
                p.grad = g
        return loss.detach()

    return closure


def _update_ratios(optimizer: torch.optim.Optimizer, layers: list[Layer],
                   grads: dict[Any, torch.Tensor | None],
                   closure: Callable[[], torch.Tensor] | None) -> dict[int, float]:
    """``‖ΔW‖ / ‖W‖`` of one optimizer step on ``grads`` (with ``closure`` when the optimizer
    needs one); weights, ``.grad`` and state restored."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    saved = {id(p): (p, p.detach().clone(), p.grad) for p in params}
    state = {p: copy.deepcopy(s) for p, s in optimizer.state.items()}
    hyper = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
             for g in optimizer.param_groups]
    try:
        for p in params:
            p.grad = grads.get(id(p))
        if closure is None:
            optimizer.step()
        else:
            # torch types a closure's loss as float; the loss tensor is what L-BFGS documents.
            optimizer.step(cast(Callable[[], float], closure))
        ratios = {}
        for layer in layers:
            weight = layer.weighted.weight
            if id(weight) in saved and bool(saved[id(weight)][1].any()):
                before = saved[id(weight)][1]
                ratios[layer.index] = float(torch.linalg.vector_norm(weight.detach() - before)
                                            / torch.linalg.vector_norm(before))
        return ratios
    finally:
        with torch.no_grad():
            for p, data, grad in saved.values():
                p.copy_(data)
                p.grad = grad
        optimizer.state.clear()
        optimizer.state.update(state)
        for group, values in zip(optimizer.param_groups, hyper, strict=True):
            group.update(values)


def _layer_stats(layer: Layer, pre: torch.Tensor, out: torch.Tensor, grads: dict[Any, Any],
                 ratios: dict[int, float], bins: int) -> LayerStats:
    out = out.detach().float()
    weight, bias = layer.weighted.weight.detach(), layer.weighted.bias
    dead = saturated = None
    if can_die(layer.output):
        per_unit = pre.detach().movedim(layer.channel_dim, 0).reshape(layer.units, -1)
        dead = int((per_unit <= 0).all(dim=1).sum()) / layer.units
    elif layer.activation in SATURATING:
        low, high = SATURATING[layer.activation]
        saturated = float(((out < low + SATURATION_MARGIN) | (out > high - SATURATION_MARGIN))
                          .float().mean())
    weight_norm = float(torch.linalg.vector_norm(weight.float()))
    counts, edges = _histogram(out, bins)
    return LayerStats(
        index=layer.index, name=layer.name, kind=type(layer.weighted).__name__.lower(),
        activation=layer.activation, units=layer.units, act_mean=float(out.mean()),
        act_std=float(out.std()), hist_counts=counts, hist_edges=edges, dead_fraction=dead,
        saturated_fraction=saturated, grad_norm=_norm(grads.get(layer.index)),
        weight_grad_norm=_norm(grads.get(id(layer.weighted.weight))), weight_norm=weight_norm,
        weight_gain=weight_norm / math.sqrt(weight.shape[0]),
        bias_mean=None if bias is None else float(bias.detach().float().mean()),
        symmetric_group=_largest_identical_group(layer), update_ratio=ratios.get(layer.index))


def _largest_identical_group(layer: Layer) -> int:
    """How many units share the most common weights (bias included), within :data:`SYMMETRY_RTOL`.

    A maxout unit's ``k`` pieces are adjacent rows, so its weights are one row of ``reshape(units, -1)``.
    """
    w = layer.weighted.weight.detach().reshape(layer.units, -1).float()
    if layer.weighted.bias is not None:
        w = torch.cat([w, layer.weighted.bias.detach().reshape(layer.units, -1).float()], dim=1)
    scale = float(w.abs().max()) if w.numel() else 0.0
    if not math.isfinite(scale):
        return 1
    best = 1
    for start in range(0, layer.units, 512):
        dist = torch.cdist(w[start:start + 512], w, p=float("inf"))
        best = max(best, int((dist <= SYMMETRY_RTOL * scale).sum(dim=1).max()))
    return best


def _histogram(values: torch.Tensor, bins: int) -> tuple[list[int], list[float]]:
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        return [0] * bins, [0.0] * (bins + 1)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(finite, bins=bins, min=low, max=high)
    return [int(c) for c in counts.tolist()], torch.linspace(low, high, bins + 1).tolist()


def _norm(t: torch.Tensor | None) -> float | None:
    return None if t is None else float(torch.linalg.vector_norm(t.detach().float()))
