"""Each optimizer's learning rate chosen on validation accuracy, and where it plateaus.

Reads the lr sweep of ``studies/optimizers_lr.toml`` (every optimizer at four learning rates,
constant lr, 3 seeds, a 3,200 / 800 split of the training samples; the test set plays no part
in any choice) and, per optimizer:

1. the lr whose mean final validation accuracy over the seeds is highest;
2. the plateau of that lr's run: the first epoch at which the seeds' mean validation accuracy,
   averaged over 5 epochs, is within 1 point of its best value.

Prints the choice as a markdown table; with ``--write FILE`` writes the second study: each
optimizer at its chosen lr with a constant lr and with step decay (lr / 10 every ``plateau``
epochs, so first at the plateau), and Adam at its chosen lr without bias correction. With
``--first-steps`` it reads the second study instead and tabulates Adam's training loss over
its first steps with and without bias correction. ``--docs docs`` also fills the table into
docs/optimizers.md.

Run:  python studies/optimizers_pick.py runs/optimizers-lr --write studies/optimizers.toml --docs docs
      python studies/optimizers_pick.py runs/optimizers --first-steps --docs docs
"""

from __future__ import annotations

import argparse
import statistics
import tomllib
from collections import defaultdict
from pathlib import Path

from trainwell._toml import inline as _toml
from trainwell.report.documents import fill_tables
from trainwell.run.store import open_store

WINDOW, WITHIN = 5, 0.01


def _smooth(curve: list[float]) -> list[float]:
    return [statistics.fmean(curve[max(0, i - WINDOW + 1): i + 1]) for i in range(len(curve))]


def plateau(curve: list[float]) -> int:
    """The first epoch (1-based) at which the smoothed ``curve`` is within 1 point of its best.

    >>> plateau([0.5, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])  # 5-epoch mean 0.9 at epoch 8
    8
    """
    smooth = _smooth(curve)
    best = max(smooth)
    return next(i + 1 for i, v in enumerate(smooth) if v >= best - WITHIN)


def choose(folder: Path) -> list[dict]:
    """One row per optimizer: its chosen lr, the validation and test accuracy there (mean over
    seeds), the plateau epoch, and every lr tried with its mean validation accuracy."""
    with open_store(folder, readonly=True) as store:
        runs = [r for r in store.runs(store.experiments()[-1]) if r.status == "done"]
        curves: dict[str, list[float]] = defaultdict(list)
        for run, _, _name, value in store.metrics([r.id for r in runs], ["val_acc"]):
            curves[run].append(float(value))
    by_point: dict[tuple[str, float], list] = defaultdict(list)
    for r in runs:
        by_point[(r.recipe["optim"]["name"], r.recipe["optim"]["lr"])].append(r)
    rows = []
    for name in dict.fromkeys(n for n, _ in by_point):
        tried = {lr: statistics.fmean(r.final["val_acc"] for r in rs)
                 for (n, lr), rs in by_point.items() if n == name}
        lr = max(tried, key=lambda k: tried[k])
        chosen = by_point[(name, lr)]
        mean_curve = [statistics.fmean(vs) for vs in zip(*(curves[r.id] for r in chosen), strict=False)]
        rows.append({"name": name, "lr": lr, "val": tried[lr],
                     "test": statistics.fmean(r.final["test_acc"] for r in chosen),
                     "plateau": plateau(mean_curve), "epochs": len(mean_curve), "tried": tried})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| optimizer | lrs tried (mean val. acc. %) | chosen lr | val. acc. (%) | "
             "plateau (epoch) |", "|---|---|---|---|---|"]
    for r in rows:
        edge = " (edge of the grid)" if r["lr"] in (min(r["tried"]), max(r["tried"])) else ""
        tried = ", ".join(f"{lr:g} ({100 * v:.1f})" for lr, v in sorted(r["tried"].items()))
        lines.append(f"| {r['name']} | {tried} | {r['lr']:g}{edge} | {100 * r['val']:.1f} | "
                     f"{r['plateau']} of {r['epochs']} |")
    return "\n".join(lines)


HEADER = """\
# CS231n lecture 7 on MNIST-1D, step 2 of 2, written by studies/optimizers_pick.py from the lr
# sweep of step 1 (studies/optimizers_lr.toml): each optimizer at the lr chosen on validation
# accuracy, trained with a constant lr, and with step decay (lr / 10) at the epoch where its
# constant-lr validation accuracy levelled off: the lecture's "try no decay first, then add
# decay where the loss plateaus". Adam also without bias correction (optim.bias_correction).
# Run:  trainwell compare studies/optimizers_lr.toml --root runs
#       python studies/optimizers_pick.py runs/optimizers-lr --write studies/optimizers.toml --docs docs
#       trainwell compare studies/optimizers.toml --root runs
#       trainwell report runs/optimizers --figures docs
#       python studies/optimizers_pick.py runs/optimizers --first-steps --docs docs
"""


def study(rows: list[dict], sweep: dict) -> str:
    """The second study's TOML: the sweep's data, model and training, the chosen lrs."""
    epochs = sweep["train"]["epochs"]
    note = sweep["note"].replace("constant lr: each optimizer's lr sweep",
                                 "each optimizer at its chosen lr: constant or step decay")
    out = [HEADER + f"note = {_toml(note)}", "", "[sweep]", 'experiment = "optimizers"',
           f"seeds = {sweep['sweep']['seeds']}", ""]
    for r in rows:
        step = {"name": "step", "step_size": min(r["plateau"], epochs - 1), "gamma": 0.1}
        for label, schedule in (("constant", {"name": "constant"}),
                                (f"step decay at epoch {step['step_size']}", step)):
            out += ["[[sweep.variants]]", f'label = "{r["name"]} (lr {r["lr"]:g}), {label}"',
                    f"optim = {_toml({'name': r['name'], 'lr': r['lr']})}",
                    f"schedule = {_toml(schedule)}", ""]
        if r["name"] == "adam":
            out += ["[[sweep.variants]]",
                    f'label = "adam (lr {r["lr"]:g}) without bias correction, constant"',
                    f"optim = {_toml({'name': 'adam', 'lr': r['lr'], 'bias_correction': False})}",
                    'schedule = {name = "constant"}', ""]
    for section in ("data", "model", "train"):
        out += [f"[{section}]", *(f"{k} = {_toml(v)}" for k, v in sweep[section].items()), ""]
    return "\n".join(out)


WINDOWS = ((1, 5), (6, 20), (21, 50), (51, 100), (101, 200), (201, 500))
"""Optimizer steps (1-based, inclusive) over which the first-steps table averages the loss."""


def first_steps(folder: Path) -> str:
    """Adam with and without bias correction over the first steps of step 2's constant-lr runs:
    the mean training loss over each window of :data:`WINDOWS`, over steps and seeds."""
    with open_store(folder, readonly=True) as store:
        runs = [r for r in store.runs(store.experiments()[-1]) if r.status == "done"
                and r.recipe["optim"]["name"] == "adam"
                and r.recipe["schedule"]["name"] == "constant"]
        losses: dict[str, dict[int, float]] = defaultdict(dict)
        for run, step, _name, value in store.metrics([r.id for r in runs], ["loss"]):
            losses[run][step + 1] = float(value)
    lines = ["| Adam, constant lr | " + " | ".join(f"steps {a}-{b}" for a, b in WINDOWS) + " |",
             "|---|" + "---|" * len(WINDOWS)]
    for corrected in (True, False):
        group = [r for r in runs if r.recipe["optim"].get("bias_correction", True) == corrected]
        if not group:
            continue
        cells = [[losses[r.id][t] for r in group for t in range(a, b + 1) if t in losses[r.id]]
                 for a, b in WINDOWS]
        label = "with bias correction" if corrected else "without bias correction"
        lines.append(f"| {label} (lr {group[0].recipe['optim']['lr']:g}) | "
                     + " | ".join(f"{statistics.fmean(c):.3f}" if c else "-" for c in cells)
                     + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the lr sweep's experiment folder (step 1), "
                        "or with --first-steps step 2's")
    parser.add_argument("--sweep", type=Path, default=Path(__file__).with_name("optimizers_lr.toml"))
    parser.add_argument("--write", type=Path, help="write the second study here")
    parser.add_argument("--first-steps", action="store_true",
                        help="print Adam's training loss over the first steps, with and "
                        "without bias correction, from step 2's runs")
    parser.add_argument("--docs", type=Path, help="also put the table into the pages of this "
                        "folder that hold its results markers")
    args = parser.parse_args(argv)
    if args.first_steps:
        table, marker = first_steps(args.folder), "optimizers-first-steps"
    else:
        rows = choose(args.folder)
        table, marker = markdown(rows), "optimizers-lr-choice"
        if args.write:
            args.write.write_text(study(rows, tomllib.loads(args.sweep.read_text())))
            print(f"wrote {args.write}")
    print(table)
    if args.docs:
        for page in fill_tables(args.docs, marker, table + "\n"):
            print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
