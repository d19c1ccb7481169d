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
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device", name, "auto or cpu (no CUDA device is available)")
    return torch.device(name)


def set_threads(threads: int) -> None:
    """Set torch's intra-op threads (0 keeps torch's default)."""
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
