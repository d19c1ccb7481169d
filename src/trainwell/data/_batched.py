"""What the batched transforms share: per-sample draws on the right device, source indices.

1. Draws come from the caller's ``torch.Generator`` on *its* device and are then moved to the
   data's (a CPU generator can drive CUDA data; a generator on the data's device avoids the
   copy). Without a generator they come from torch's global RNG on the data's device.
2. A shift by ``k`` reads position ``i - k``; :func:`source_index` maps positions that fall
   outside ``[0, size)`` back inside according to a padding rule, so a shifted batch is one
   ``gather`` with no padded copy.
3. Constant index and coordinate tensors are made once per size, device and dtype
   (:func:`constant`): on a small batch, making them would cost as much as the transform.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Literal

import torch

__all__ = ["Padding", "Kind", "input_kind", "uniform", "randint", "normal", "constant",
           "source_index", "check_dims"]

Padding = Literal["reflect", "zeros", "border"]
"""How a shifted or warped sample is filled where it reads outside itself: mirrored without
repeating the edge (``F.pad``'s ``"reflect"``), zeros, or the nearest edge value."""


Kind = Literal["image", "signal"]
"""What a sample is: an image ``(C, H, W)`` or a 1-D signal ``(C, L)``."""


def input_kind(sample_shape: tuple[int, ...]) -> Kind | None:
    """``"signal"`` for a per-sample shape ``(C, L)``, ``"image"`` for ``(C, H, W)``, else None.

    >>> input_kind((1, 40)), input_kind((3, 32, 32)), input_kind((784,))
    ('signal', 'image', None)
    """
    kinds: dict[int, Kind] = {2: "signal", 3: "image"}
    return kinds.get(len(sample_shape))


def _draw_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    return device if generator is None else generator.device


def _to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    return t if t.device == device else t.to(device, non_blocking=True)


def uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device,
            low: float = 0.0, high: float = 1.0, dtype: torch.dtype = torch.float32
            ) -> torch.Tensor:
    """Draws from U[low, high) shaped ``shape``, on ``device``.

    One ``uniform_`` call: arithmetic with Python numbers afterwards would cost a kernel and
    a scalar copy each, as much as the draw itself on a small batch.
    """
    u = torch.empty(shape, device=_draw_device(generator, device), dtype=dtype)
    return _to(u.uniform_(low, high, generator=generator), device)


def randint(low: int, high: int, shape: tuple[int, ...], generator: torch.Generator | None,
            device: torch.device) -> torch.Tensor:
    """Int64 draws uniform in ``[low, high)`` shaped ``shape``, on ``device``."""
    return _to(torch.randint(low, high, shape, generator=generator,
                             device=_draw_device(generator, device)), device)


def normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device,
           dtype: torch.dtype) -> torch.Tensor:
    """Standard normal draws shaped ``shape`` with ``dtype``, on ``device``."""
    z = torch.randn(shape, generator=generator, device=_draw_device(generator, device),
                    dtype=dtype)
    return _to(z, device)


@lru_cache(maxsize=64)
def constant(make: Callable[..., torch.Tensor], *args: object, **kwargs: object) -> torch.Tensor:
    """``make(*args, **kwargs)``, made once and then shared: never modify it in place.

    Made outside inference mode, so a first call under ``torch.inference_mode()`` does not
    leave an inference tensor for later training steps.

    >>> constant(torch.arange, 3) is constant(torch.arange, 3)
    True
    """
    with torch.inference_mode(False):
        return make(*args, **kwargs)


def source_index(pos: torch.Tensor, size: int, padding: Padding | Literal["circular"]
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Valid indices into an axis of ``size`` for positions ``pos`` (int64), and, for
    ``"zeros"``, the mask of positions that were inside (else ``None``).

    ``"reflect"`` mirrors about the edges without repeating them (period ``2 (size - 1)``),
    ``"border"`` clamps, ``"circular"`` wraps around, ``"zeros"`` clamps and reports the mask.

    >>> source_index(torch.tensor([-2, -1, 0, 3, 4]), 4, "reflect")[0].tolist()
    [2, 1, 0, 3, 2]
    >>> source_index(torch.tensor([-1, 4]), 4, "circular")[0].tolist()
    [3, 0]
    """
    if padding == "circular":
        return pos % size, None
    if padding == "reflect" and size > 1:
        period = 2 * (size - 1)
        folded = pos % period
        return torch.where(folded >= size, period - folded, folded), None
    index = pos.clamp(0, size - 1)
    if padding == "zeros":
        return index, (pos >= 0) & (pos < size)
    return index, None


def check_dims(x: torch.Tensor, dims: int, name: str) -> None:
    """Raise a ValueError unless ``x`` is a floating batch with ``dims`` dimensions."""
    if x.dim() != dims or not x.is_floating_point():
        shape = "(N, C, L) signals" if dims == 3 else "(N, C, H, W) images"
        raise ValueError(f"{name} works on float batches of {shape}; got a {x.dtype} tensor "
                         f"shaped {tuple(x.shape)}")
