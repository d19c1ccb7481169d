"""Mixed precision for the training step: autocast, and a gradient scaler for float16.

``fp32`` trains as usual. ``bf16`` and ``fp16`` run the model's forward pass under
:func:`torch.autocast` (matrix products and convolutions in the low-precision type, reductions
and normalization in float32), while everything else stays float32:

1. the weights, the optimizer's state, checkpoints and saved weights (autocast casts copies
   of the weights per operation; the master copy is never rounded);
2. the loss: the logits are cast to float32 before the loss function, so the per-step loss,
   the training accuracy and what ``after_loss`` callbacks add are float32 numbers;
3. the gradients that callbacks read in ``after_backward`` (the gradient-flow recorder): with
   ``fp16`` they are unscaled before that event;
4. evaluation: validation, test and final metrics run without autocast.

``fp16`` multiplies the loss by a scale before the backward pass so small gradients do not
flush to zero, and skips a step whose gradients overflowed (:class:`torch.amp.GradScaler`).
bfloat16 has float32's exponent range and needs no scale.

Reference: P. Micikevicius et al., "Mixed Precision Training", ICLR 2018 (float32 master
weights, loss scaling).

**Note:** the scaler decides on the host whether to take the step, which waits for the
device once per step, unless the optimizer is a fused one that takes the scale itself
(``fused=True`` Adam, AdamW and SGD on CUDA); ``bf16`` never waits.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from trainwell.errors import ConfigError, did_you_mean

_NO_AUTOCAST = contextlib.nullcontext()

__all__ = ["PRECISIONS", "Precision", "check_precision"]

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16,
                                             "fp16": torch.float16}
"""``train.precision`` names and the autocast type each runs the forward pass in."""

_ALIASES = {"bfloat16": "bf16", "bf16-mixed": "bf16", "float16": "fp16", "half": "fp16",
            "16-mixed": "fp16", "fp16-mixed": "fp16", "float32": "fp32", "32": "fp32",
            "32-true": "fp32"}
"""What torch and Lightning call the same precisions."""


def check_precision(value: Any, *, key: str = "train.precision") -> str:
    """``value`` if it names a precision, else :class:`ConfigError` naming ``key``.

    >>> check_precision("bf16")
    'bf16'
    >>> check_precision("bfloat16")
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: train.precision = 'bfloat16': expected fp32, bf16 or fp16 ...
    """
    if not isinstance(value, str) or value not in PRECISIONS:
        hint = ""
        if isinstance(value, str):
            alias = _ALIASES.get(value.lower())
            hint = f" (did you mean {alias!r}?)" if alias else did_you_mean(value, PRECISIONS)
        raise ConfigError(key, value, f"fp32, bf16 or fp16 (the type the forward pass runs "
                          f"in; weights stay float32){hint}")
    return value


class Precision:
    """The forward pass's autocast, the backward pass and the optimizer step of one precision.

    >>> model = torch.nn.Linear(4, 2)
    >>> amp = Precision("bf16", device="cpu")
    >>> with amp.autocast():
    ...     out = model(torch.ones(3, 4))
    >>> out.dtype, model.weight.dtype
    (torch.bfloat16, torch.float32)
    """

    def __init__(self, name: str = "fp32", *, device: str | torch.device = "cpu") -> None:
        self.name = check_precision(name)
        self.dtype = PRECISIONS[name]
        self.device_type = torch.device(device).type
        self.scaler = torch.amp.GradScaler(self.device_type) if name == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Run the enclosed forward pass in this precision (a no-op for ``fp32``)."""
        if self.dtype is None:
            return _NO_AUTOCAST
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss`` (scaled for ``fp16``)."""
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Divide the gradients by the loss scale in place, so callbacks read true gradients."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Take the optimizer step; for ``fp16``, skip it if a gradient overflowed and update
        the scale."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (its scale and growth tracker), for a checkpoint."""
        return {} if self.scaler is None else dict(self.scaler.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
