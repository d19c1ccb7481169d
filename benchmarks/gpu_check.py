"""Check trainwell on a CUDA machine, in one run, and print one table.

1. grid: the demo grid (``trainwell compare``, the ``init`` experiment) through the local
   backend with ``--runs-per-gpu 2``: every run must end ``done`` or ``diverged`` (a result)
   and have trained on a GPU;
2. determinism: two runs of one recipe with ``train.deterministic = true`` must end with
   identical weights;
3. host syncs: a run under ``torch.cuda.set_sync_debug_mode("warn")`` counts the operations
   that wait for the GPU; the training loop must do none per step (a few per epoch: reading
   the epoch's losses and accuracy), in fp32 and in bf16;
4. speed: the MNIST-1D study recipe (``studies/mnist1d_fast.toml``, a residual 1-D CNN) and a
   residual 2-D CNN on mnist5k, each in fp32, bf16, compiled, and compiled in bf16 (the 2-D
   one also channels-last in bf16): seconds per epoch after the first, the compile warm-up,
   test accuracy, and the epoch time as a ratio to fp32's.

Without CUDA it says so and exits 0. ``--device cpu`` runs checks 1, 2 and 4 on the CPU
instead, the grid with one seed and one epoch (a way to try the script anywhere). Expected
output: ``docs/gpu.md``.

    python benchmarks/gpu_check.py [--epochs 4] [--skip-grid] [--device cuda|cpu]

Exit code 0 when every check passed (or there is no CUDA), 1 when one failed.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from trainwell.data import load_dataset
from trainwell.execute import execute
from trainwell.loop import fit
from trainwell.models import build_model
from trainwell.recipe import Recipe, load_recipe

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "mnist1d_fast.toml"
RESNET_2D = {"data": {"name": "mnist5k", "val_fraction": 0.0},
             "model": {"name": "resnet", "blocks": 3, "width": 32, "pool": "max"},
             "optim": {"name": "adam", "lr": 3e-3},
             "schedule": {"name": "one_cycle", "per": "step"},
             "train": {"batch_size": 128, "eval_every": 0, "record_every": 0}}
VARIANTS = {"fp32": {}, "bf16": {"precision": "bf16"}, "compile": {"compile": True},
            "compile + bf16": {"compile": True, "precision": "bf16"}}
VARIANTS_2D = {**VARIANTS, "channels-last + bf16": {"channels_last": True, "precision": "bf16"}}

Row = tuple[str, str, str]


def check_grid(device: str, root: Path) -> Row:
    """The demo grid through the local backend, two runs at a time on each GPU."""
    from trainwell.api import compare

    experiment = f"gpu-check-grid-{device}"
    small = device == "cpu"  # a try-out: one seed, one epoch, a smaller dataset
    res = compare(root=root, runs_per_gpu=2, quiet=True, name=experiment,
                  seeds=1 if small else None,
                  set=["train.epochs=1", "data.num_samples=2000"] if small else None)
    outcome = res.outcome
    with sqlite3.connect(root / experiment / "results.db") as db:
        devices = [d for (d,) in db.execute("SELECT device FROM runs")]
    on_device = sum(1 for d in devices if d and d.startswith(device))
    ok = not outcome.failed and on_device == len(devices) == outcome.total
    return ("grid: demo, local backend, --runs-per-gpu 2",
            f"{outcome.total} runs, {sorted(outcome.statuses.items())}, {on_device} on {device}",
            _verdict(ok))


def check_determinism(device: str) -> Row:
    """Two reruns with ``train.deterministic = true``: identical weights."""
    raw = load_recipe(STUDY).to_dict()
    raw["train"] = {**raw["train"], "epochs": 2, "deterministic": True, "device": device,
                    "threads": 0}
    recipe = Recipe.from_dict(raw)
    runs = [execute(recipe) for _ in range(2)]
    same = all(r.weights is not None for r in runs) and all(
        torch.equal(a, b) for a, b in zip(runs[0].weights.values(),  # type: ignore[union-attr]
                                          runs[1].weights.values(), strict=True))
    return ("determinism: 2 reruns, train.deterministic", "weights identical" if same
            else "weights differ", _verdict(same))


def check_syncs(precision: str, epochs: int) -> Row:
    """Count host synchronizations of a training run on the GPU (none may happen per step)."""
    ds = load_dataset("mnist1d", num_samples=4000).to("cuda")
    torch.manual_seed(0)
    model = build_model("resnet", input_shape=ds.meta.input_shape, num_classes=10,
                        blocks=3, width=32).to("cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator(device="cuda").manual_seed(0)
    steps = epochs * -(-len(ds.x_train) // 128)
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fit(model, ds, opt, epochs=epochs, batch_size=128, eval_every=0, generator=gen,
                precision=precision)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    # the final metrics (3 splits) and each epoch's reads: a handful per epoch, never per step
    ok = syncs <= 4 * epochs + 12 and syncs < steps
    return (f"host syncs while training ({precision})",
            f"{syncs} in {steps} steps ({syncs / epochs:.1f} per epoch)", _verdict(ok))


def time_variants(name: str, base: dict[str, Any], variants: dict[str, dict[str, Any]],
                  device: str, epochs: int) -> list[Row]:
    """Train ``base`` in each variant; epoch seconds after the first, as a ratio to fp32's."""
    rows: list[Row] = []
    ref = None
    for label, extra in variants.items():
        raw = {**base, "train": {**base.get("train", {}), "epochs": epochs, "device": device,
                                 "threads": 0, **extra}}
        out = execute(Recipe.from_dict(raw))
        if out.status != "done":
            rows.append((f"{name}: {label}", f"{out.status}: {out.history.error}", "FAIL"))
            continue
        if device == "cuda":
            torch.cuda.synchronize()
        per_epoch = statistics.median(e["seconds"] for e in out.history.epochs[1:]
                                      or out.history.epochs)
        ref = per_epoch if ref is None else ref
        warm = (out.history.compile or {}).get("warmup_seconds")
        detail = (f"{per_epoch:.3f} s/epoch, test {100 * out.history.final['test_acc']:.1f} %"
                  + (f", warm-up {warm:.1f} s" if warm is not None else ""))
        rows.append((f"{name}: {label}", detail, f"{per_epoch / ref:.2f}x fp32"))
    return rows


def _verdict(ok: bool) -> str:
    return "ok" if ok else "FAIL"


def print_table(rows: list[Row], title: str) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(title)
    for r in rows:
        print(f"  {r[0]:{widths[0]}s}  {r[1]:{widths[1]}s}  {r[2]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each timed run")
    parser.add_argument("--skip-grid", action="store_true", help="leave out the demo grid")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"no CUDA device: torch {torch.__version__} (CUDA build: "
              f"{torch.version.cuda or 'none'}) sees no GPU; nothing to check here. "
              "Run this script on a machine with one (docs/gpu.md).")
        return 0
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    where = (torch.cuda.get_device_name(0) if args.device == "cuda"
             else f"CPU, {torch.get_num_threads()} threads")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_grid:
            rows.append(check_grid(args.device, Path(tmp)))
    rows.append(check_determinism(args.device))
    if args.device == "cuda":
        rows += [check_syncs(p, args.epochs) for p in ("fp32", "bf16")]
    study = load_recipe(STUDY).to_dict()
    rows += time_variants("mnist1d resnet", study, VARIANTS, args.device, args.epochs)
    rows += time_variants("mnist5k resnet 2-D", RESNET_2D, VARIANTS_2D, args.device, args.epochs)
    print_table(rows, f"trainwell gpu check: {where}, torch {torch.__version__}")
    failed = [r for r in rows if r[2] == "FAIL"]
    print("all checks passed" if not failed else f"{len(failed)} check(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
