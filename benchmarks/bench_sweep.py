"""Sweep throughput: the main job's 8-run grid with 1 worker and with one per core.

Runs the built-in ``init`` experiment's grid of static inits (4 inits x 2 activations, one
seed, the demo's data and epochs) in fresh folders: with a single worker (which the runner gives all the
cores' threads), with one worker per core (threads divided), and, for reference, a single
worker held to one thread. Each configuration runs ``--repeats`` times in its own child
process (configurations interleaved, best time kept: the machine is shared and noisy). The
wall time is the whole ``run_sweep`` call, worker start-up included; the training time runs
from the first run's start to the last run's end.
Goal: speed-up >= 1.7x on 2 cores.

    python benchmarks/bench_sweep.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time


def child(workers: int, threads: int, root: str) -> None:
    from trainwell.experiments import experiment_path
    from trainwell.run import run_sweep
    from trainwell.run.store import DB_NAME, Store
    from trainwell.sweep import load_sweep

    sweep = (load_sweep(experiment_path("init")).with_seeds(1)
             .with_axis("init.name", ["zeros", "uniform", "lecture_xavier", "he_normal"]))
    if threads:
        sweep = sweep.with_overrides([f"train.threads={threads}"])
    t0 = time.perf_counter()
    outcome = run_sweep(sweep, root=root, workers=workers, quiet=True)
    seconds = time.perf_counter() - t0
    with Store(outcome.folder / DB_NAME) as store:
        runs = store.runs(outcome.experiment)
    training = max(r.finished for r in runs) - min(r.started for r in runs)
    print(json.dumps({"seconds": seconds, "training": training, "runs": outcome.ran}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=3, type=str, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return
    from trainwell.data import load_dataset
    from trainwell.run import default_workers

    load_dataset("mnist1d", num_samples=10000)  # fill the cache so no configuration pays for it
    cores = default_workers()
    configs = {f"1 worker x {cores} threads": (1, 0), "1 worker x 1 thread": (1, 1),
               f"{cores} workers x 1 thread": (cores, 0)}
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, (workers, threads) in configs.items():
            with tempfile.TemporaryDirectory() as root:
                out = subprocess.run([sys.executable, __file__, "--child", str(workers),
                                      str(threads), root], capture_output=True, text=True,
                                     check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if name not in best or r["seconds"] < best[name]["seconds"]:
                best[name] = r
    print(f"the init experiment's grid: 8 runs (4 inits x 2 activations, 1 seed), {cores} cores, "
          f"best of {args.repeats}")
    print(f"{'configuration':24s} {'wall s':>8s} {'training s':>11s} {'runs':>5s}")
    for name, r in best.items():
        print(f"{name:24s} {r['seconds']:8.2f} {r['training']:11.2f} {r['runs']:5d}")
    one, many = best[f"1 worker x {cores} threads"], best[f"{cores} workers x 1 thread"]
    speedup = one["seconds"] / many["seconds"]
    print(f"speed-up, {cores} workers vs 1 worker: {speedup:.2f}x "
          f"(goal >= 1.7x: {'met' if speedup >= 1.7 else 'NOT met'})")
    ref = best["1 worker x 1 thread"]["seconds"] / many["seconds"]
    print(f"speed-up, {cores} workers vs 1 worker held to 1 thread: {ref:.2f}x")
    steady = one["training"] / many["training"]
    print(f"speed-up of the training phase alone (first run's start to last run's end, worker "
          f"start-up left out): {steady:.2f}x")


if __name__ == "__main__":
    main()
