"""Pick the device and thread count a run uses."""

from __future__ import annotations

import os

import torch

from trainwell.errors import ConfigError

__all__ = ["resolve_device", "set_threads", "max_threads"]


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
    """Set torch's intra-op threads (0 keeps torch's default).

    ``TRAINWELL_MAX_THREADS`` caps the count, for a machine whose cores are already shared by
    several processes (a test suite on every core, a busy CI box): on 2 cores, two processes
    of 2 threads each spin against each other and a tiny model trains 10-20 times slower.
    """
    cap = max_threads()
    if cap is not None:
        threads = min(threads, cap) if threads > 0 else cap
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def max_threads() -> int | None:
    """The cap ``TRAINWELL_MAX_THREADS`` sets on every run's threads, or None."""
    value = os.environ.get("TRAINWELL_MAX_THREADS", "").strip()
    if not value:
        return None
    try:
        cap = int(value)
    except ValueError:
        raise ConfigError("TRAINWELL_MAX_THREADS", value, "a positive integer") from None
    if cap < 1:
        raise ConfigError("TRAINWELL_MAX_THREADS", value, "a positive integer")
    return cap
