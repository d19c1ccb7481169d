"""Record gradient flow while training: per-layer weight-gradient norms and activation stds.

:class:`GradientFlowRecorder` is a trainer callback. Every ``every`` steps it hooks each
layer's activation (as :func:`~trainwell.diagnose.layers.find_layers` pairs them) for that one
step's forward pass, and after the backward pass reads ``‖∂L/∂W‖`` of each layer. The numbers
stay on the device until :attr:`GradientFlowRecorder.records` is read, so no step waits for a
device sync, and no hook runs on the steps in between.

Reference: X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", 2010 (activation and back-propagated gradient statistics per layer, during
training).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from pydantic import Field
from torch import nn

from trainwell._numbers import finite_or_none
from trainwell.callback_order import ORDER
from trainwell.diagnose.layers import Layer, find_layers
from trainwell.errors import ConfigError
from trainwell.loop.events import Callback, TrainState
from trainwell.loop.metrics import LAYER_METRICS, layer_metric

__all__ = ["GradientFlowRecorder", "flow_rows"]


class GradientFlowRecorder(Callback):
    """A callback that records, every ``every`` steps, each layer's ``‖∂L/∂W‖`` and activation std.

    Rows of :attr:`records` are ``{"step", "layer", "grad_norm", "act_std"}``: ``step`` the
    optimizer step (0-based, the weights before that step's update), ``layer`` the layer's
    module name, ``grad_norm`` the Frobenius norm of the weight gradient of that step's
    minibatch loss, ``act_std`` the std of the layer's activations on that minibatch (``None``
    when the layer did not run). These are the ``weight_grad_norm`` and ``act_std`` that
    :func:`~trainwell.diagnose.probes.probe` measures on the same model and batch. When
    training ends it writes :meth:`to_dict` to ``history.gradient_flow``.

    >>> from trainwell.data import load_dataset
    >>> from trainwell.models import build_model
    >>> from trainwell.loop import fit
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> recorder = GradientFlowRecorder(every=10)
    >>> history = fit(model, ds, opt, epochs=1, batch_size=64, callbacks=[recorder])
    >>> recorder.records[0]
    {'step': 0, 'layer': 'hidden.0.linear', 'grad_norm': ..., 'act_std': ...}
    """

    order = ORDER["gradient_flow"]

    def __init__(self, *, every: Annotated[int, Field(ge=1)] = 50) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("diagnose.every", every, "an integer >= 1 (record every that many steps)")
        self.every = every
        self._layers: list[Layer] = []
        self._handles: list[Any] = []
        self._acts: dict[int, torch.Tensor] = {}
        self._step = -1
        self._pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self._rows: list[dict[str, Any]] = []

    @property
    def layers(self) -> list[str]:
        """The recorded layers' names, in forward order."""
        return [layer.name for layer in self._layers]

    def before_fit(self, state: TrainState) -> None:
        self._layers = find_layers(state.model)

    def before_step(self, state: TrainState) -> None:
        if state.step % self.every:
            return
        self._remove_hooks()
        self._acts, self._step = {}, state.step
        self._handles = [layer.output.register_forward_hook(self._keep(layer.index))
                         for layer in self._layers]

    def after_backward(self, state: TrainState) -> None:
        if not self._handles:
            return
        self._remove_hooks()
        device = state.loss.device if state.loss is not None else torch.device("cpu")
        nan = torch.full((), math.nan, device=device)
        grads = [layer.weighted.weight.grad for layer in self._layers]
        self._pending.append((
            self._step,
            torch.stack([nan if g is None else torch.linalg.vector_norm(g.detach().float()) for g in grads]),
            torch.stack([self._acts.get(layer.index, nan) for layer in self._layers]),
        ))
        self._acts = {}

    def after_fit(self, state: TrainState) -> None:
        self._remove_hooks()
        state.history.gradient_flow = self.to_dict()

    @property
    def records(self) -> list[dict[str, Any]]:
        """One row per (recorded step, layer); reading it moves pending numbers to the host."""
        if self._pending:
            steps = [step for step, _, _ in self._pending]
            grads = torch.stack([g for _, g, _ in self._pending]).tolist()
            acts = torch.stack([a for _, _, a in self._pending]).tolist()
            self._pending = []
            for step, g_row, a_row in zip(steps, grads, acts, strict=True):
                self._rows.extend({"step": step, "layer": layer.name,
                                   "grad_norm": finite_or_none(g), "act_std": finite_or_none(a)}
                                  for layer, g, a in zip(self._layers, g_row, a_row, strict=True))
        return list(self._rows)

    def state_dict(self) -> dict[str, Any]:
        """The rows recorded so far, for a checkpoint."""
        return {"records": self.records}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rows, self._pending = [dict(row) for row in state["records"]], []

    def to_dict(self) -> dict[str, Any]:
        """``{"every", "layers", "records"}``, JSON-able (non-finite numbers become ``None``)."""
        return {"every": self.every, "layers": self.layers, "records": self.records}

    def metric_rows(self) -> list[tuple[int, str, float | None]]:
        """The records so far as metric rows (:func:`flow_rows`)."""
        return flow_rows({"records": self.records})

    def _keep(self, index: int) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self._acts[index] = output.detach().float().std()
        return hook

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def flow_rows(flow: Mapping[str, Any] | None) -> list[tuple[int, str, float | None]]:
    """A recorded gradient flow (``history.gradient_flow``, :meth:`GradientFlowRecorder.to_dict`)
    as ``(step, name, value)`` metric rows: ``grad_norm/<layer>`` and ``act_std/<layer>`` at
    each recorded step; none for ``None``.

    >>> flow_rows({"records": [{"step": 0, "layer": "fc", "grad_norm": 0.5, "act_std": 1.0}]})
    [(0, 'grad_norm/fc', 0.5), (0, 'act_std/fc', 1.0)]
    """
    rows: list[tuple[int, str, float | None]] = []
    for r in (flow or {}).get("records", []):
        rows += [(r["step"], layer_metric(kind, r["layer"]), finite_or_none(r[kind]))
                 for kind in LAYER_METRICS]
    return rows
