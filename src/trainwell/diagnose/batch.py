"""The probe batch: a seeded random sample of training data, the same for every diagnosis."""

from __future__ import annotations

import torch

__all__ = ["diagnose_batch", "DIAGNOSE_BATCH"]

DIAGNOSE_BATCH = 256
"""Samples in the probe batch: enough for a "never fires on any sample" dead-unit count."""


def diagnose_batch(x: torch.Tensor, y: torch.Tensor, *, seed: int,
                   size: int = DIAGNOSE_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of ``size`` samples (all of them when fewer).

    >>> xb, yb = diagnose_batch(torch.arange(10.0), torch.arange(10), seed=0, size=4)
    >>> bool((xb.long() == yb).all()), len(xb)
    (True, 4)
    """
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:size]
    idx = idx.to(x.device)
    return x[idx], y[idx]
