"""Live detection: a training-loop callback that measures the network every N steps and names
what goes wrong as soon as it holds.

On a measured step the :class:`Monitor` hooks each layer's activation for that step's forward
pass (dead and saturated shares, activation std), reads ``‖∂L/∂W‖`` and ``‖W‖`` after the
backward pass and ``‖ΔW‖/‖W‖`` after the optimizer step, then reads the numbers to the host
once and judges them (:func:`~trainwell.diagnose.symptoms.find_symptoms`). Between measured
steps it only adds the minibatch loss to a running sum on the device: no hooks, no host sync.

Each symptom is reported once, at the first step it holds, as a
:class:`~trainwell.diagnose.symptoms.LiveVerdict`. ``stop_on`` names symptoms that end the
run (status ``diverged``, the verdict as the reason). Layers whose activation the monitor does
not know are listed in :attr:`Monitor.notes`, and their units are not judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from trainwell.callback_order import ORDER
from trainwell.diagnose.layers import SATURATING, Layer, can_die, find_layers, unknown_activations
from trainwell.diagnose.probes import SATURATION_MARGIN
from trainwell.diagnose.symptoms import SYMPTOMS, LayerWindow, LiveVerdict, Window, find_symptoms
from trainwell.errors import ConfigError, did_you_mean
from trainwell.loop.events import Callback, StopTraining, TrainState

__all__ = ["Monitor", "check_stop_on"]


def check_stop_on(stop_on: Iterable[str], *, key: str = "train.stop_on") -> tuple[str, ...]:
    """``stop_on`` as a tuple, or :class:`ConfigError` naming the first unknown symptom."""
    if isinstance(stop_on, str) or not all(isinstance(s, str) for s in stop_on):
        raise ConfigError(key, stop_on, f"a list of symptoms from {', '.join(SYMPTOMS)}")
    found = tuple(stop_on)
    for name in found:
        if name not in SYMPTOMS:
            raise ConfigError(key, name, f"one of {', '.join(SYMPTOMS)}{did_you_mean(name, SYMPTOMS)}")
    return found


class Monitor(Callback):
    """Measure every ``every`` steps and give a verdict as soon as a symptom holds.

    As a callback of :func:`trainwell.loop.fit` it needs nothing else; in another loop drive it
    with :meth:`attach`, :meth:`arm`, :meth:`read_gradients`, :meth:`read_update`,
    :meth:`add_loss` and :meth:`close` (as :func:`trainwell.diagnose.watch.watch` does).

    >>> from trainwell.data import load_dataset
    >>> from trainwell.loop import fit
    >>> from trainwell.models import build_model
    >>> ds = load_dataset("digits")
    >>> net = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2)
    >>> mon = Monitor(every=5)
    >>> h = fit(net, ds, torch.optim.SGD(net.parameters(), lr=1e-9), epochs=1, batch_size=64,
    ...         callbacks=[mon])
    >>> "lr_low" in [v.kind for v in mon.verdicts]
    True
    """

    order = ORDER["monitor"]

    def __init__(self, *, every: int = 50, stop_on: Iterable[str] = (), classes: int | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("every", every, "an integer >= 1 (measure every that many steps)")
        self.every, self.stop_on, self.classes = every, check_stop_on(stop_on, key="stop_on"), classes
        self.verdicts: list[LiveVerdict] = []
        self.windows: list[Window] = []
        self.notes: list[str] = []
        self._layers: list[Layer] = []
        self._handles: list[Any] = []
        self._acts: dict[int, tuple[torch.Tensor, ...]] = {}
        self._grads: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        self._before: list[torch.Tensor | None] = []
        self._updates: list[torch.Tensor | None] = []
        self._sum: torch.Tensor | None = None
        self._sq: torch.Tensor | None = None
        self._count = 0
        self._armed: int | None = None
        self._history: Any = None

    # -- the engine ------------------------------------------------------------------------

    def attach(self, model: nn.Module) -> None:
        """Find the model's layers (and say which activations are not known)."""
        self._layers = find_layers(model)
        self.notes = unknown_activations(model, self._layers)

    def arm(self, step: int) -> None:
        """Hook the layers for the next forward pass: ``step`` is measured."""
        self._remove_hooks()
        self._armed, self._acts, self._grads, self._before, self._updates = step, {}, [], [], []
        self._handles = [layer.output.register_forward_hook(self._keep(layer))
                         for layer in self._layers]

    @property
    def armed(self) -> bool:
        return self._armed is not None

    def read_gradients(self) -> None:
        """After the backward pass of a measured step: ``‖∂L/∂W‖`` and ``‖W‖`` of each layer."""
        self._remove_hooks()
        with torch.no_grad():
            self._grads = [None if layer.weighted.weight.grad is None else
                           (torch.linalg.vector_norm(layer.weighted.weight.grad.float()),
                            torch.linalg.vector_norm(layer.weighted.weight.float()))
                           for layer in self._layers]

    def snapshot(self) -> None:
        """Before the optimizer step of a measured step: a copy of each layer's weights."""
        self._before = [layer.weighted.weight.detach().clone() for layer in self._layers]

    def read_update(self) -> None:
        """After the optimizer step of a measured step: ``‖ΔW‖/‖W‖`` of each layer."""
        with torch.no_grad():
            self._updates = [None if before is None else
                             torch.linalg.vector_norm((layer.weighted.weight - before).float())
                             / torch.linalg.vector_norm(before.float()).clamp_min(1e-30)
                             for layer, before in zip(self._layers, self._before, strict=False)]
        self._before = []

    def add_loss(self, loss: torch.Tensor | float) -> None:
        """Count one step's minibatch loss (on the device, no sync)."""
        value = loss.detach().float() if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))
        if self._sum is None or self._sq is None:
            self._sum, self._sq = value.clone(), value * value
        else:
            if self._sum.device != value.device:  # restored from a checkpoint on the CPU
                self._sum, self._sq = self._sum.to(value.device), self._sq.to(value.device)
            self._sum += value
            self._sq += value * value
        self._count += 1

    def close(self, *, train_acc: float | None = None, step: int | None = None) -> list[LiveVerdict]:
        """Judge the measured step (one host sync) and return the verdicts new at it; ``step``
        names the window when no step is armed (the losses after the last measured step)."""
        if step is None:
            step = self._armed if self._armed is not None else (self.windows[-1].step if self.windows else 0)
        self._remove_hooks()
        loss = cv = None
        if self._count and self._sum is not None and self._sq is not None:
            mean, sq = float(self._sum) / self._count, float(self._sq) / self._count
            loss = mean
            if self._count > 1 and math.isfinite(mean) and mean > 0:
                cv = math.sqrt(max(sq - mean * mean, 0.0)) / mean
        self._sum = self._sq = None
        self._count = 0
        self.windows.append(Window(step, loss, cv, self._layer_windows()))
        self._armed, self._acts, self._grads, self._updates = None, {}, [], []
        return self._judge(train_acc)

    def judge_accuracy(self, train_acc: float) -> list[LiveVerdict]:
        """Check the training accuracy against chance (needs :attr:`classes`)."""
        return self._judge(train_acc) if self.windows else []

    # -- trainer events ---------------------------------------------------------------------

    def before_fit(self, state: TrainState) -> None:
        self.attach(state.model)
        self._history = state.history
        if self.classes is None:
            self.classes = getattr(state.dataset.meta, "num_classes", None)

    def before_step(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self.arm(state.step)

    def after_backward(self, state: TrainState) -> None:
        if self.armed and not self._grads:
            self.read_gradients()
            self.snapshot()

    def after_step(self, state: TrainState) -> None:
        if state.data_loss is not None:
            self.add_loss(state.data_loss)
        if self.armed:
            self.read_update()
            self._stop(self.close())

    def after_epoch(self, state: TrainState) -> None:
        last = state.history.epochs[-1] if state.history.epochs else {}
        if last.get("train_acc") is not None and last.get("step", 0) >= 2 * self.every:
            self._stop(self.judge_accuracy(last["train_acc"]))

    def after_fit(self, state: TrainState) -> None:
        self._remove_hooks()
        if self._count:  # the losses since the last measured step: a last window
            self._armed = None
            self.close(step=max(state.step, self.windows[-1].step + 1 if self.windows else 0))
        state.history.watch = self.to_dict()

    def state_dict(self) -> dict[str, Any]:
        """Verdicts, windows and the losses counted since the last window, for a checkpoint."""
        running = ([float(self._sum), float(self._sq)]
                   if self._sum is not None and self._sq is not None else [])
        return {**self.to_dict(), "running": running, "count": self._count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        running = state.get("running") or []
        self._sum, self._sq = ((torch.tensor(running[0]), torch.tensor(running[1])) if running
                               else (None, None))
        self._count = state.get("count", 0)
        self.verdicts = [LiveVerdict.from_dict(v) for v in state["verdicts"]]
        self.windows = [Window(w["step"], w["loss"], w["loss_cv"], [LayerWindow(**x) for x in w["layers"]])
                        for w in state.get("windows", [])]

    def to_dict(self) -> dict[str, Any]:
        """``{"every", "verdicts", "notes", "windows"}``, JSON-able."""
        from dataclasses import asdict

        from trainwell._numbers import finite_floats

        return finite_floats({"every": self.every, "verdicts": [v.to_dict() for v in self.verdicts],
                              "notes": list(self.notes),
                              "windows": [asdict(w) for w in self.windows]})

    # -- internals --------------------------------------------------------------------------

    def _judge(self, train_acc: float | None) -> list[LiveVerdict]:
        seen = {v.kind for v in self.verdicts}
        new = [v for v in find_symptoms(self.windows, train_acc=train_acc, classes=self.classes)
               if v.kind not in seen]
        self.verdicts += new
        if new and self._history is not None:  # seen by loggers as the run goes
            self._history.watch = self.to_dict()
        return new

    def _stop(self, new: list[LiveVerdict]) -> None:
        hit = next((v for v in new if v.kind in self.stop_on), None)
        if hit is not None:
            raise StopTraining(f"stopped at step {hit.step} ({hit.kind}): {hit.message}",
                               status="diverged")

    def _layer_windows(self) -> list[LayerWindow]:
        out = []
        for i, layer in enumerate(self._layers):
            grads = self._grads[i] if i < len(self._grads) else None
            update = self._updates[i] if i < len(self._updates) else None
            acts = self._acts.get(layer.index)
            std, dead, sat = (acts + (None,) * 3)[:3] if acts else (None, None, None)
            out.append(LayerWindow(layer.name, layer.activation,
                                   grad=_float(grads[0]) if grads else None,
                                   weight=_float(grads[1]) if grads else
                                   _float(torch.linalg.vector_norm(layer.weighted.weight.detach().float())),
                                   update=_float(update), dead=_float(dead), saturated=_float(sat),
                                   act_std=_float(std)))
        return out

    def _keep(self, layer: Layer) -> Any:
        dies = can_die(layer.output)
        bounds = SATURATING.get(layer.activation)

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            with torch.no_grad():
                out = output.detach()
                std = out.float().std() if out.numel() > 1 else None
                dead = sat = None
                pre = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
                if dies and pre is not None and pre.dim() > 1 and pre.shape[layer.channel_dim] == layer.units:
                    fired = (pre.detach().movedim(layer.channel_dim, 0).reshape(layer.units, -1) > 0).any(1)
                    dead = 1 - fired.float().mean()
                elif bounds is not None:
                    low, high = bounds
                    sat = ((out < low + SATURATION_MARGIN) | (out > high - SATURATION_MARGIN)).float().mean()
                self._acts[layer.index] = (std, dead, sat)  # type: ignore[assignment]
        return hook

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _float(value: torch.Tensor | None) -> float | None:
    return None if value is None else float(value)
