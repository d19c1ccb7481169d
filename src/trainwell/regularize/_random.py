"""Random masks and noise that honour an optional generator on any device."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def usable(generator: torch.Generator | None, device: torch.device) -> torch.Generator | None:
    """``generator`` if it lives on ``device`` (a CPU generator cannot drive CUDA sampling),
    else ``None``, so the global generator of that device is used instead."""
    if generator is None:
        return None
    own = generator.device
    same = own.type == device.type and (own.index is None or device.index is None
                                        or own.index == device.index)
    return generator if same else None


def bernoulli_mask(shape: Sequence[int], keep: float, *, like: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """A 0/1 tensor of ``shape`` (dtype and device of ``like``), each entry 1 with
    probability ``keep``."""
    mask = torch.empty(tuple(shape), dtype=like.dtype, device=like.device)
    return mask.bernoulli_(keep, generator=usable(generator, like.device))


def normal_noise(shape: Sequence[int], *, like: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise of ``shape`` with the dtype and device of ``like``."""
    g = usable(generator, like.device)
    if g is None:
        return torch.randn(tuple(shape), dtype=like.dtype, device=like.device)
    return torch.randn(tuple(shape), generator=g, dtype=like.dtype, device=like.device)
