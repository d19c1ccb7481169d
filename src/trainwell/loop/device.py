"""Pick the device and thread count a run uses."""

from __future__ import annotations

import torch

from trainwell.errors import ConfigError

__all__ = ["resolve_device", "set_threads"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: cuda when available, else cpu.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError("train.device", name, "auto or cpu (no CUDA device is available)")
        if device.index is not None and device.index >= count:
            raise ConfigError("train.device", name, f"cuda:0 .. cuda:{count - 1} ({count} visible)")
    return device


def set_threads(threads: int) -> None:
    """Set torch's intra-op threads (0 keeps torch's default)."""
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
