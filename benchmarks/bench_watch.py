"""The live monitor's overhead: training time of the MNIST-1D CNN with and without a
:class:`~trainwell.diagnose.Monitor` at ``every=50``, as a ratio (goal: at most 1.03).

Runs alternate (plain, monitored, plain, ...) so both see the same machine load; each side's
time is the median over ``--repeats`` runs of ``--epochs`` epochs, same seed, same data.

    python benchmarks/bench_watch.py
    python benchmarks/bench_watch.py --repeats 7 --epochs 3 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from trainwell.data import load_dataset
from trainwell.diagnose import Monitor
from trainwell.loop import fit
from trainwell.models import build_model


def one_run(dataset, *, monitored: bool, epochs: int, every: int) -> tuple[float, int]:
    torch.manual_seed(0)
    model = build_model("cnn", input_shape=dataset.meta.input_shape, num_classes=dataset.meta.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    callbacks = [Monitor(every=every)] if monitored else []
    started = time.perf_counter()
    history = fit(model, dataset, opt, epochs=epochs, batch_size=64, callbacks=callbacks, eval_every=0,
                  generator=torch.Generator().manual_seed(0))
    seconds = time.perf_counter() - started
    return seconds, len(history.step_loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_dataset("mnist1d")
    one_run(dataset, monitored=True, epochs=1, every=args.every)  # warm-up
    plain, watched = [], []
    for _ in range(args.repeats):
        seconds, steps = one_run(dataset, monitored=False, epochs=args.epochs, every=args.every)
        plain.append(seconds)
        seconds, _ = one_run(dataset, monitored=True, epochs=args.epochs, every=args.every)
        watched.append(seconds)
    base, mon = statistics.median(plain), statistics.median(watched)
    print(f"mnist1d cnn, {steps} steps per run, {args.repeats} runs each, {args.threads} thread(s)")
    print(f"plain     {1000 * base / steps:.2f} ms/step (median of {', '.join(f'{s:.2f}' for s in plain)} s)")
    print(f"monitored {1000 * mon / steps:.2f} ms/step (median of {', '.join(f'{s:.2f}' for s in watched)} s)")
    print(f"overhead ratio at every={args.every}: {mon / base:.3f} (goal <= 1.03)")


if __name__ == "__main__":
    main()
