"""The live monitor's overhead: training time of the MNIST-1D CNN with and without a
:class:`~trainwell.diagnose.Monitor` at ``every=50``, as a ratio (goal: at most 1.03).

Runs alternate (plain, monitored, plain, ...) so both see the same machine load; each side's
time is the fastest of ``--repeats`` runs of ``--epochs`` epochs (same seed, same data): on a
shared machine the fastest run is the one least disturbed by others. The medians are printed
too.

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


class TimedMonitor(Monitor):
    """The monitor, timing its own callbacks (and the hooks they fire) to the microsecond."""

    spent = 0.0

    def _timed(self, name, state):
        started = time.perf_counter()
        getattr(super(), name)(state)
        TimedMonitor.spent += time.perf_counter() - started

    def before_step(self, state):
        self._timed("before_step", state)

    def after_backward(self, state):
        self._timed("after_backward", state)

    def after_step(self, state):
        self._timed("after_step", state)

    def after_epoch(self, state):
        self._timed("after_epoch", state)


def self_time(dataset, *, epochs: int, every: int) -> float:
    """The monitor's own share of a monitored run's time (its forward hooks included only where
    they run inside the timed events; the hooked forward pass is measured by the ratio)."""
    TimedMonitor.spent = 0.0
    torch.manual_seed(0)
    model = build_model("cnn", input_shape=dataset.meta.input_shape, num_classes=dataset.meta.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    fit(model, dataset, opt, epochs=epochs, batch_size=64, callbacks=[TimedMonitor(every=every)],
        eval_every=0, generator=torch.Generator().manual_seed(0))
    return TimedMonitor.spent / (time.perf_counter() - started)


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
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
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
    base, mon = min(plain), min(watched)
    print(f"mnist1d cnn, {steps} steps per run, {args.repeats} runs each, {args.threads} thread(s)")
    for name, times in (("plain", plain), ("monitored", watched)):
        runs = ", ".join(f"{s:.2f}" for s in times)
        print(f"{name:9s} fastest {1000 * min(times) / steps:.2f} ms/step, median "
              f"{1000 * statistics.median(times) / steps:.2f} (runs: {runs} s)")
    print(f"overhead ratio at every={args.every}: {mon / base:.3f} fastest, "
          f"{statistics.median(watched) / statistics.median(plain):.3f} median (goal <= 1.03)")
    share = self_time(dataset, epochs=args.epochs, every=args.every)
    print(f"the monitor's own callbacks: {100 * share:.2f} % of a monitored run's time")


if __name__ == "__main__":
    main()
