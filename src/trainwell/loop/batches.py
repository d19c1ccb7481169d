"""The training batches of an epoch: the training set in a new random order every epoch, or in
its stored order (``[train] shuffle = false``).

1. Shuffled, each epoch draws one permutation from the run's generator. In memory the shuffled
   set is gathered once, so every batch is a contiguous slice (a view: no per-sample work, no
   copy per step); stored inputs (memory-mapped rows) are gathered a batch at a time on the
   CPU and decoded on the device, the same rows and values as in memory.
2. In order, batch ``t`` of every epoch is rows ``t B`` to ``t B + B - 1`` (a last batch of
   the rows left when ``B`` does not divide the set), and nothing is drawn from the generator,
   so its state, and a checkpoint's, is that of the epoch before.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from trainwell.data.dataset import Dataset

__all__ = ["ORDER_OPTIONS", "epoch_batches", "batch_shapes", "steps_per_epoch"]

ORDER_OPTIONS: dict[str, str] = {
    "shuffle": "true (default): the training set in a new random order every epoch; false: "
               "in its stored order every epoch, batch t = rows t·B to t·B+B-1, nothing "
               "drawn (the mnist1d repository's loop)",
}
"""The ``[train]`` option that sets the order of the training batches, for ``trainwell list``."""

Batch = Callable[[int], tuple[torch.Tensor, torch.Tensor]]


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """The optimizer steps of an epoch over ``samples`` training samples (a last, smaller batch
    included), at least one.

    >>> steps_per_epoch(1000, 64), steps_per_epoch(1024, 64), steps_per_epoch(0, 64)
    (16, 16, 1)
    """
    return max(1, math.ceil(samples / batch_size))


def epoch_batches(dataset: Dataset, batch_size: int, *, shuffle: bool = True,
                  generator: torch.Generator | None = None) -> Batch:
    """A function from ``i`` to the ``i``-th training batch ``(inputs, labels)`` of one epoch
    of ``dataset``, decoded as the model takes them. ``shuffle`` draws the epoch's order from
    ``generator`` (on its device), at once; ``shuffle=False`` draws nothing.

    >>> from trainwell.data import load_dataset
    >>> ds = load_dataset("digits")
    >>> batch = epoch_batches(ds, 100, shuffle=False)
    >>> xb, yb = batch(2)
    >>> torch.equal(xb, ds.x_train[200:300]), torch.equal(yb, ds.y_train[200:300])
    (True, True)
    """
    x, y = dataset.x_train, dataset.y_train
    stored = dataset.stored is not None
    if not shuffle:
        def in_order(i: int) -> tuple[torch.Tensor, torch.Tensor]:
            rows = slice(i * batch_size, (i + 1) * batch_size)
            return dataset.decode(x[rows]), y[rows]
        return in_order
    perm = torch.randperm(len(x), generator=generator,
                          device=generator.device if generator is not None else "cpu"
                          ).to(dataset.device)
    # in memory: the shuffled set gathered once; stored: each batch's rows
    xs, at = (x[perm], None) if not stored else (x, perm.cpu())
    ys = y[perm]

    def shuffled(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = slice(i * batch_size, (i + 1) * batch_size)
        xb = xs[rows] if at is None else dataset.decode_rows(xs, at[rows])
        return xb, ys[rows]
    return shuffled


def batch_shapes(dataset: Dataset, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A training batch of each size an epoch has: the full one, and the last if shorter."""
    n = len(dataset.x_train)
    sizes = [min(batch_size, n)] + ([n % batch_size] if n > batch_size and n % batch_size else [])
    return [(dataset.decode(dataset.x_train[:size]), dataset.y_train[:size]) for size in sizes]
