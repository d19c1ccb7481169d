"""Backends: the built-in ``init`` experiment's grid through ``local`` and through ``ray``.

Both run the whole grid (the demo's 36 runs: 6 inits x 2 activations x 3 seeds) on this
machine with one run per core, each configuration in its own child process, interleaved,
best of ``--repeats`` (the machine is shared and noisy). Reported per backend: wall time of
the ``run_sweep`` call, the runs' own training time (sum over runs), and the per-run overhead
``(wall x slots - training) / runs``: what the backend adds to each run (worker start-up,
moving recipes and outcomes, scheduling). Ray's start-up (``ray.init`` of a local instance)
and shutdown are measured apart and left out of its wall time.
Goal: the Ray backend's wall time, start-up excluded, within 1.15x of the local backend's.

    python benchmarks/bench_backends.py [--repeats 2] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time


def child(backend: str, root: str, seeds: int) -> None:
    from trainwell.experiments import experiment_path
    from trainwell.run import LocalBackend, default_workers, run_sweep
    from trainwell.run.store import DB_NAME, Store
    from trainwell.sweep import load_sweep

    cores = default_workers()
    sweep = load_sweep(experiment_path("init")).with_seeds(seeds)
    startup = shutdown = 0.0
    if backend == "ray":
        import ray

        from trainwell.run.ray import RayBackend

        t0 = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - t0
        runner = RayBackend()
    else:
        runner = LocalBackend([None] * cores, threads=1)
    t0 = time.perf_counter()
    outcome = run_sweep(sweep, root=root, backend=runner, quiet=True)
    seconds = time.perf_counter() - t0
    if backend == "ray":
        t0 = time.perf_counter()
        ray.shutdown()
        shutdown = time.perf_counter() - t0
    with Store(outcome.folder / DB_NAME) as store:
        runs = store.runs(outcome.experiment)
    training = sum(r.seconds or 0.0 for r in runs)
    print(json.dumps({"seconds": seconds, "training": training, "runs": outcome.ran,
                      "done": sum(r.status in ("done", "diverged") for r in runs),
                      "slots": cores, "startup": startup, "shutdown": shutdown}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--child", nargs=2, type=str, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.seeds)
        return
    from trainwell.data import load_dataset

    load_dataset("mnist1d", num_samples=10000)  # fill the cache so no configuration pays for it
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for backend in ("local", "ray"):
            with tempfile.TemporaryDirectory() as root:
                out = subprocess.run([sys.executable, __file__, "--child", backend, root,
                                      "--seeds", str(args.seeds)],
                                     capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if backend not in best or r["seconds"] < best[backend]["seconds"]:
                best[backend] = r
    slots = best["local"]["slots"]
    print(f"the init experiment's grid: {best['local']['runs']} runs, {slots} runs at a time, "
          f"best of {args.repeats}")
    print(f"{'backend':8s} {'wall s':>8s} {'training s':>11s} {'overhead s/run':>15s} "
          f"{'start-up s':>11s} {'shutdown s':>11s}")
    for name, r in best.items():
        overhead = (r["seconds"] * r["slots"] - r["training"]) / max(1, r["runs"])
        print(f"{name:8s} {r['seconds']:8.2f} {r['training']:11.2f} {overhead:15.2f} "
              f"{r['startup']:11.2f} {r['shutdown']:11.2f}")
    ratio = best["ray"]["seconds"] / best["local"]["seconds"]
    print(f"ray / local wall time, Ray's start-up excluded: {ratio:.2f}x "
          f"(goal <= 1.15x: {'met' if ratio <= 1.15 else 'NOT met'})")


if __name__ == "__main__":
    main()
