"""``torch.compile`` of the model's training forward pass, with its warm-up timed apart.

:class:`CompiledModel` compiles the model (not the loop's Python: callbacks, the optimizer
and the bookkeeping stay eager) with the inductor backend, and is called where the loop would
call the model:

1. :meth:`CompiledModel.warm_up` compiles before the first epoch, on a training batch of each
   shape the epoch will see (the full batch and the last, shorter one), forward and backward,
   under the run's precision; it restores batch-norm statistics and the random generators
   afterwards, so the warm-up changes nothing the run computes. Its time is the run's
   ``compile`` timing, apart from the epochs' seconds.
2. A step on which any layer has a forward or backward hook (the gradient-flow recorder's
   steps, every ``train.record_every``) runs the eager model: a compiled graph does not see
   hooks added after it was traced. Those steps are counted as ``eager_steps``.
3. Evaluation, diagnosis and test-time views call the eager model: one graph per training
   batch shape is all that is compiled.

Shapes are static (``dynamic=False``): each distinct batch shape compiles once.
``"max-autotune"`` benchmarks kernel choices while compiling (longer warm-up) and runs
without CUDA graphs, whose replays would overwrite the losses and logits the loop keeps on the
device until the epoch ends.

**Note:** reruns of a compiled run are bit-identical on the CPU (inductor generates the same
kernels); they are not bit-identical to the eager run (fused kernels round differently), and a
model with dropout draws other random numbers (inductor has its own random kernels).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from trainwell.errors import ConfigError
from trainwell.loop.precision import Precision

__all__ = ["COMPILE_MODES", "CompiledModel", "check_compile"]

COMPILE_MODES: dict[bool | str, str | None] = {False: None, True: "default",
                                               "max-autotune": "max-autotune-no-cudagraphs"}
"""``train.compile`` values and the ``torch.compile`` mode each uses (``None``: eager)."""


def check_compile(value: Any, *, key: str = "train.compile") -> bool | str:
    """``value`` if it is a ``train.compile`` setting, else :class:`ConfigError` naming ``key``.

    >>> check_compile(True), check_compile("max-autotune")
    (True, 'max-autotune')
    >>> check_compile("yes")
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: train.compile = 'yes': expected false, true or "max-autotune" ...
    """
    if isinstance(value, bool) or value == "max-autotune":
        return value
    raise ConfigError(key, value, 'false, true or "max-autotune" (torch.compile of the model; '
                      "true: the default mode)")


class CompiledModel:
    """``model``'s forward pass compiled by ``torch.compile`` in ``mode``; falls back to the
    eager model on steps where a layer carries a hook.

    The compiled module shares ``model``'s parameters and buffers: the weights the loop trains
    and saves are ``model``'s, under their usual names.
    """

    def __init__(self, model: torch.nn.Module, mode: bool | str = True) -> None:
        torch_mode = COMPILE_MODES[check_compile(mode)]
        if torch_mode is None:
            raise ConfigError("train.compile", mode, "true or \"max-autotune\" to compile")
        self.model = model
        self.mode = mode
        self.compiled = torch.compile(model, mode=torch_mode, dynamic=False)
        self.eager_steps = 0
        self.warmup_seconds = 0.0
        self._modules = list(model.modules())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.hooked():
            self.eager_steps += 1
            return self.model(x)
        out = self.compiled(x)
        assert isinstance(out, torch.Tensor), "a classifier returns its logits"
        return out

    def hooked(self) -> bool:
        """True when a layer of the model has a forward or backward hook right now."""
        return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                   or m._backward_pre_hooks for m in self._modules)

    def warm_up(self, batches: list[tuple[torch.Tensor, torch.Tensor]],
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                precision: Precision) -> float:
        """Compile the forward and backward graphs for each ``(x, y)`` batch shape; return the
        seconds it took. Weights, batch-norm statistics, gradients and the random generators
        are as they were before."""
        buffers = [b.detach().clone() for b in self.model.buffers()]
        grads = [p.grad for p in self.model.parameters()]
        rng = torch.get_rng_state()
        cuda = _batch_device(batches).type == "cuda"
        cuda_rng = torch.cuda.get_rng_state_all() if cuda else None
        started = time.perf_counter()
        try:
            for x, y in batches:
                with precision.autocast():
                    logits = self.compiled(x)
                loss = loss_fn(logits.float(), y)
                if loss.requires_grad:
                    loss.backward()
            if cuda:
                torch.cuda.synchronize()
        finally:
            with torch.no_grad():
                for b, saved in zip(self.model.buffers(), buffers, strict=True):
                    b.copy_(saved)
            for p, g in zip(self.model.parameters(), grads, strict=True):
                p.grad = g
            torch.set_rng_state(rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        self.warmup_seconds += time.perf_counter() - started
        return self.warmup_seconds

    def summary(self) -> dict[str, Any]:
        """``{"mode", "warmup_seconds", "eager_steps"}`` for the run's history."""
        return {"mode": self.mode, "warmup_seconds": self.warmup_seconds,
                "eager_steps": self.eager_steps}


def _batch_device(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.device:
    return batches[0][0].device if batches else torch.device("cpu")
