"""Record gradient flow while training: per-layer weight-gradient norms and activation stds.

:class:`GradientFlowRecorder` records every ``every`` steps: it hooks each layer's activation
(as :func:`~trainwell.diagnose.layers.find_layers` pairs them) for that one step's forward
pass, and after the backward pass reads ``‖∂L/∂W‖`` of each layer. The numbers stay on the
device until :attr:`GradientFlowRecorder.records` is read, so no step waits for a device
sync, and no hook runs on the steps in between. It is a trainer callback, and it attaches to
any model in a loop of your own (``GradientFlowRecorder(model)``, then :meth:`record` after
each ``loss.backward()``, or ``optimizer=`` to record before each ``optimizer.step()``).

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
from trainwell.errors import ConfigError, TrainwellError
from trainwell.loop.events import Callback, TrainState
from trainwell.loop.metrics import LAYER_METRICS, layer_metric

__all__ = ["GradientFlowRecorder", "flow_rows"]


class GradientFlowRecorder(Callback):
    """Records, every ``every`` steps, each layer's ``‖∂L/∂W‖`` and activation std.

    Rows of :attr:`records` are ``{"step", "layer", "grad_norm", "act_std"}``: ``step`` the
    optimizer step (0-based, the weights before that step's update), ``layer`` the layer's
    module name, ``grad_norm`` the Frobenius norm of the weight gradient of that step's
    minibatch loss, ``act_std`` the std of the layer's activations on that minibatch (``None``
    when the layer did not run). These are the ``weight_grad_norm`` and ``act_std`` that
    :func:`~trainwell.diagnose.probes.probe` measures on the same model and batch.

    As a trainer callback (no ``model``) it finds the layers when training starts and writes
    :meth:`to_dict` to ``history.gradient_flow`` when it ends. In a loop of your own, pass the
    ``model``: call :meth:`record` after each ``loss.backward()``, or pass the ``optimizer``
    and it records before each ``optimizer.step()`` by itself; :meth:`close` removes its
    hooks. Activations are read from the forward passes run with gradients enabled (an
    evaluation under ``torch.no_grad()`` in between does not count).

    >>> from torch.nn import functional as F
    >>> model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> rec = GradientFlowRecorder(model, every=5)
    >>> for step in range(20):
    ...     x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    ...     loss = F.cross_entropy(model(x), y)
    ...     opt.zero_grad(); loss.backward()
    ...     rec.record(step)
    ...     opt.step()
    >>> sorted({r["step"] for r in rec.records}), rec.layers
    ([0, 5, 10, 15], ['0', '2'])
    >>> rec.records[0]
    {'step': 0, 'layer': '0', 'grad_norm': ..., 'act_std': ...}
    >>> fig = rec.figure()     # the report's picture: ‖∂L/∂W‖ and activation std by step
    >>> rec.close()
    """

    order = ORDER["gradient_flow"]

    def __init__(self, model: nn.Module | None = None, *, every: Annotated[int, Field(ge=1)] = 50,
                 optimizer: torch.optim.Optimizer | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("diagnose.every", every, "an integer >= 1 (record every that many steps)")
        if model is not None and not isinstance(model, nn.Module):
            raise ConfigError("model", type(model).__name__, "a torch.nn.Module")
        if optimizer is not None and (model is None or not isinstance(optimizer, torch.optim.Optimizer)):
            raise ConfigError("optimizer", type(optimizer).__name__,
                              "a torch.optim.Optimizer, with the model it trains as first argument")
        self.every = every
        self._layers: list[Layer] = []
        self._handles: list[Any] = []
        self._acts: dict[int, torch.Tensor] = {}
        self._step = -1
        self._next = 0
        self._pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self._rows: list[dict[str, Any]] = []
        self._step_hook: Any = None
        if model is not None:
            self._layers = find_layers(model)
            self._arm(0)
        if optimizer is not None:
            self._step_hook = optimizer.register_step_pre_hook(lambda *_: self.record())

    @property
    def layers(self) -> list[str]:
        """The recorded layers' names, in forward order."""
        return [layer.name for layer in self._layers]

    def before_fit(self, state: TrainState) -> None:
        self._layers = find_layers(state.model)

    def before_step(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._arm(state.step)

    def after_backward(self, state: TrainState) -> None:
        if self._handles:
            self._read(self._step)

    def after_fit(self, state: TrainState) -> None:
        self._remove_hooks()
        state.history.gradient_flow = self.to_dict()

    def record(self, step: int | None = None) -> None:
        """In a loop of your own, after ``loss.backward()``: record the gradients of optimizer
        step ``step`` (default: one more than the last one recorded, from 0) when ``step`` is a
        multiple of ``every``, with the activations of the forward pass before it."""
        if step is None:
            step = self._next
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigError("step", step, "an integer >= 0 (the optimizer step, from 0)")
        if not self._layers:
            raise TrainwellError("this recorder has no model: create it as "
                                 "GradientFlowRecorder(model) to record in a loop of your own")
        if step % self.every == 0:
            self._read(step)
        self._next = step + 1
        self._remove_hooks()
        if self._next % self.every == 0:
            self._arm(self._next)

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

    def table(self) -> Any:
        """:attr:`records` as a pandas DataFrame (columns step, layer, grad_norm, act_std);
        ``.pivot(index="step", columns="layer", values="grad_norm")`` gives one column per layer."""
        from trainwell._optional import pandas

        return pandas().DataFrame(self.records, columns=["step", "layer", "grad_norm", "act_std"])

    def figure(self) -> Any:
        """The report's gradient-flow picture of these records: ``‖∂L/∂W‖`` (top) and activation
        std (bottom) of every layer against the step, first layer dark, last light; a
        matplotlib Figure that a notebook shows."""
        from trainwell.report.plots_diagnostics import FlowRun, LayerFlow, flow_limits, gradient_flow_plot

        rows = self.records
        if not rows:
            raise TrainwellError("no gradient flow recorded yet: call record(step) after "
                                 "loss.backward() (a step that is a multiple of every)")
        layers = []
        for name in self.layers:
            mine = [r for r in rows if r["layer"] == name]
            layers.append(LayerFlow(name, [r["step"] for r in mine], [r["grad_norm"] for r in mine],
                                    [r["act_std"] for r in mine]))
        run = FlowRun("gradient flow", 0, layers)
        return gradient_flow_plot(run, limits=flow_limits([run]))

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

    def close(self) -> None:
        """Remove the recorder's hooks from the model and the optimizer (the records stay)."""
        self._remove_hooks()
        if self._step_hook is not None:
            self._step_hook.remove()
            self._step_hook = None

    def _arm(self, step: int) -> None:
        """Hook every layer's activation for the forward pass of ``step``."""
        self._remove_hooks()
        self._acts, self._step = {}, step
        self._handles = [layer.output.register_forward_hook(self._keep(layer.index))
                         for layer in self._layers]

    def _read(self, step: int) -> None:
        """Keep the weight-gradient norms of ``step`` and the activations hooked for it."""
        self._remove_hooks()
        grads = [layer.weighted.weight.grad for layer in self._layers]
        device = next((g.device for g in grads if g is not None), torch.device("cpu"))
        nan = torch.full((), math.nan, device=device)
        self._pending.append((
            step,
            torch.stack([nan if g is None else torch.linalg.vector_norm(g.detach().float()) for g in grads]),
            torch.stack([self._acts.get(layer.index, nan).to(device) for layer in self._layers]),
        ))
        self._acts = {}

    def _keep(self, index: int) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            if torch.is_grad_enabled():
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
