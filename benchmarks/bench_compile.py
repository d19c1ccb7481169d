"""``train.compile`` against eager, in one run: per-step time and the compile warm-up.

Two workloads, each trained eager and compiled (``torch.compile``, inductor) from the same
initial weights, interleaved, ``--repeats`` times (the best time counts: the machine is shared
and noisy):

* the MNIST-1D study recipe (``studies/mnist1d_fast.toml``: a residual 1-D CNN with batch
  norm, batches of 128, shift augmentation, a one-cycle schedule) through ``execute``;
* bench_trainer's MLP (3 x 256 ReLU on mnist1d, SGD with momentum, batches of 64) through
  ``fit``.

A step's time is the training epochs' seconds over the optimizer steps taken: the warm-up
(compiling the forward and backward graphs before the first epoch) is measured apart, and
``break-even`` is the number of steps after which compiling has paid for its warm-up (none
when a compiled step is not faster). The warm-up shown is the first compiled run's in the
process; later runs of the same model reuse its graphs (torch's in-process cache) and warm up
in milliseconds. Run it twice to see the warm-up with inductor's on-disk cache warm.

    python benchmarks/bench_compile.py [--epochs 4] [--repeats 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import torch

from trainwell.data import load_dataset
from trainwell.execute import execute
from trainwell.loop import History, fit
from trainwell.models import build_model
from trainwell.recipe import Recipe, load_recipe

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "mnist1d_fast.toml"


def run_study(compile: bool, epochs: int, threads: int) -> History:
    raw = load_recipe(STUDY).to_dict()
    raw["train"] = {**raw["train"], "epochs": epochs, "threads": threads, "compile": compile}
    out = execute(Recipe.from_dict(raw))
    if out.status != "done":
        raise RuntimeError(f"the study recipe ended {out.status}: {out.history.error}")
    return out.history


def run_mlp(compile: bool, epochs: int, threads: int) -> History:
    ds = load_dataset("mnist1d")
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=ds.meta.num_classes,
                        depth=3, width=256, activation="relu")
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return fit(model, ds, opt, epochs=epochs, batch_size=64, eval_every=0, compile=compile,
               generator=torch.Generator().manual_seed(0))


def step_seconds(h: History) -> float:
    """Seconds per optimizer step over the training epochs (warm-up excluded)."""
    return sum(e["seconds"] for e in h.epochs) / h.epochs[-1]["step"]


def measure(runner: Any, epochs: int, repeats: int, threads: int) -> dict[str, Any]:
    best: dict[str, Any] = {"eager": None, "compiled": None, "warmup": None, "acc": {}}
    for _ in range(repeats):
        for label, compiled in (("eager", False), ("compiled", True)):
            h = runner(compiled, epochs, threads)
            t = step_seconds(h)
            best[label] = t if best[label] is None else min(best[label], t)
            best["acc"][label] = h.final.get("test_acc")
            if compiled and best["warmup"] is None:  # later runs reuse the compiled graphs
                best["warmup"] = h.compile["warmup_seconds"]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    print(f"train.compile against eager: {args.epochs} epochs, best of {args.repeats}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    header = (f"{'workload':24s} {'eager ms/step':>14s} {'compiled ms/step':>17s} "
              f"{'compiled/eager':>15s} {'warm-up s':>10s} {'break-even':>11s}")
    print(header)
    for name, runner in (("mnist1d study recipe", run_study), ("bench_trainer MLP", run_mlp)):
        r = measure(runner, args.epochs, args.repeats, args.threads)
        gain = r["eager"] - r["compiled"]
        even = f"{r['warmup'] / gain:.0f} steps" if gain > 0 else "never"
        print(f"{name:24s} {1e3 * r['eager']:14.2f} {1e3 * r['compiled']:17.2f} "
              f"{r['compiled'] / r['eager']:15.2f} {r['warmup']:10.1f} {even:>11s}", flush=True)
        accs = ", ".join(f"{k} {100 * v:.1f} %" for k, v in r["acc"].items() if v is not None)
        print(f"{'':24s} test accuracy: {accs}")


if __name__ == "__main__":
    main()
