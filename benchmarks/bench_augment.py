"""Batched augmentation's cost per training step, against the same step without it, in one run.

  (a) MNIST-1D (4,000 samples): the default 1-D CNN, batch 64, with shift + stretch + noise + shear;
  (b) mnist5k: the default 2-D CNN on 28x28 digits, batch 64, with hflip + translate + cutout,
      and the same plus affine on a separate line.
A step is forward, cross-entropy, backward and an SGD step (momentum 0.9) on a batch sliced
from a shuffled copy of the training set, as trainwell's trainer does; an augmented step first
transforms its batch with ``compose(...)`` and a seeded generator on the data's device; that
part is timed on its own inside the step. Contenders alternate step by step (the order
rotating), so a busy moment of the shared machine hits them alike; a repeat's time for a
contender is the median of its ``--steps`` step times (``--steps-2d`` for (b)), and the best of
``--repeats`` repeats counts.
Goal: augmentation takes at most 10% of a training step (its time inside the augmented step /
the plain step). The whole augmented step against the plain one ("added") is printed as a
cross-check; on a loaded machine it also holds the cost of waking torch's worker threads
after the serial augmentation ops, which ``--threads 1`` removes.

    python benchmarks/bench_augment.py [--steps 300] [--steps-2d 60] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from trainwell.data import load_dataset
from trainwell.data.augment import compose
from trainwell.models import build_model

SIGNAL = [{"name": "shift", "max_shift": 8}, {"name": "stretch"}, {"name": "noise"},
          {"name": "shear"}]
IMAGE = [{"name": "hflip"}, {"name": "translate", "pixels": 2}, {"name": "cutout", "size": 4}]
IMAGE_AFFINE = IMAGE + [{"name": "affine"}]


class Setup:
    """One model, optimizer and list of batches, shared by every contender of a case."""

    def __init__(self, ds, steps: int, batch_size: int) -> None:
        torch.manual_seed(0)
        self.model = build_model("cnn", input_shape=ds.meta.input_shape,
                                 num_classes=ds.meta.num_classes)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.shape = tuple(ds.x_train.shape[1:])
        n = len(ds.x_train)
        gen = torch.Generator().manual_seed(0)
        perm = torch.cat([torch.randperm(n, generator=gen)
                          for _ in range(steps * batch_size // n + 1)])
        xs, ys = ds.x_train[perm], ds.y_train[perm]
        self.batches = [(xs[i * batch_size:(i + 1) * batch_size],
                         ys[i * batch_size:(i + 1) * batch_size]) for i in range(steps)]

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        loss = F.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def measure(setup: Setup, cases: dict[str, list], repeats: int) -> dict[str, tuple[float, float]]:
    """Seconds per step of each contender ("plain": no augmentation) and of its transforms."""
    augs = {"plain": None, **{name: compose(specs, setup.shape) for name, specs in cases.items()}}
    names = list(augs)
    gen = torch.Generator().manual_seed(0)
    best = {name: (float("inf"), 0.0) for name in names}
    for repeat in range(repeats + 1):  # the first is a warm-up: allocator, kernels, first calls
        steps: dict[str, list[float]] = {name: [] for name in names}
        alone: dict[str, list[float]] = {name: [] for name in names}
        for i, (xb, yb) in enumerate(setup.batches):
            for name in names[i % len(names):] + names[:i % len(names)]:
                aug = augs[name]
                t0 = time.perf_counter()
                x = xb if aug is None else aug(xb, gen)
                t1 = time.perf_counter()
                setup.step(x, yb)
                steps[name].append(time.perf_counter() - t0)
                alone[name].append(t1 - t0)
        if repeat == 0:
            continue
        for name in names:
            med = statistics.median(steps[name])
            if med < best[name][0]:
                best[name] = (med, statistics.median(alone[name]))
    return best


def report(title: str, times: dict[str, tuple[float, float]]) -> list[bool]:
    plain = times["plain"][0]
    print(title)
    print(f"  {'contender':38s} {'ms/step':>8s} {'added':>8s} {'augmentation':>13s} "
          f"{'% of a step':>11s}")
    print(f"  {'plain step':38s} {1e3 * plain:8.3f}")
    shares = []
    for name, (step, alone) in times.items():
        if name == "plain":
            continue
        shares.append(alone / plain)
        print(f"  {name:38s} {1e3 * step:8.3f} {100 * (step / plain - 1):+7.1f}% "
              f"{1e3 * alone:10.3f} ms {100 * alone / plain:10.1f}%")
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per contender of (a)")
    parser.add_argument("--steps-2d", type=int, default=60, help="steps per contender of (b)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(args.threads or cores or 1)

    signal = Setup(load_dataset("mnist1d", num_samples=4000), args.steps, args.batch_size)
    image = Setup(load_dataset("mnist5k"), args.steps_2d, args.batch_size)
    a = measure(signal, {"shift + stretch + noise + shear": SIGNAL}, args.repeats)
    b = measure(image, {"hflip + translate + cutout": IMAGE,
                        "hflip + translate + cutout + affine": IMAGE_AFFINE}, args.repeats)

    print(f"batch {args.batch_size}, SGD steps, {torch.get_num_threads()} threads; median step, "
          f"best of {args.repeats}; 'added' = augmented step / plain step - 1")
    shares = report(f"(a) mnist1d, cnn on (1, 40), {args.steps} steps each", a)
    shares += report(f"(b) mnist5k, cnn on (1, 28, 28), {args.steps_2d} steps each", b)
    worst = max(shares)
    print(f"goal: augmentation <= 10% of a step: worst {100 * worst:.1f}% "
          f"{'met' if worst <= 0.10 else 'NOT met'}")


if __name__ == "__main__":
    main()
