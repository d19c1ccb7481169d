"""MNIST-1D, fast: the study recipe against the mnist1d repository's reference CNN, in one run.

The reference is mnist1d's ``ConvBase`` written out in plain PyTorch: three Conv1d layers of
25 channels (kernel 5 then 3, stride 2, padding 1), ReLU after each, a linear head on the
flattened (25 x 5) output, trained as ``trainwell.models.MNIST1D_REFERENCE`` says the
repository's code trains it: Adam at lr 1e-2, no weight decay, batches of 100 taken in order
(batch ``t`` is samples ``100 t mod 4000`` onwards of ``make_dataset``'s training split: the
same 40 batches every pass, never shuffled), 8,000 steps. The study is
``studies/mnist1d_fast.toml`` run by ``trainwell.execute.execute``. Both train on the same
arrays: the 4,000 / 1,000 train/test split of ``mnist1d.data.make_dataset`` with its default
arguments (checked against trainwell's loader as the study configures it before anything
trains; trainwell shuffles the order of the training samples, not the samples). Seeds are
interleaved (reference, study, reference, ...) on the same number of torch threads; a time is
the training alone (for the study, ``execute`` on the prepared data: build, initialize,
train, final metrics).
Goals: the study's mean test accuracy over 5 seeds >= 99.0 % at <= 0.20 of the reference's
mean time. The printout states the torch thread count and the machine's load average before and
after: other work on the machine slows both contenders, not equally (the reference's 8,000
tiny steps suffer more from sharing a core than the study's few large ones), so it also gives
each contender's CPU time (``time.process_time``), which sharing the machine moves less; on a
quiet machine, with 1 thread, the two agree.

``--select`` trains the candidates of ``studies/mnist1d_fast_select.toml`` on 3,200 of the
4,000 training samples and prints their accuracy on the other 800: the study's settings are
chosen there, without the test set.

``--ablation`` runs the cumulative variants of ``studies/mnist1d_fast_ablation.toml`` the same
way and prints a markdown table: the reference first, then one change at a time.

    python benchmarks/bench_mnist1d.py [--seeds 3] [--threads 1] [--ablation] [--write MD]

``--write docs/mnist1d-fast.md`` also puts the printed numbers between that page's
``<!-- bench_mnist1d: study -->`` (or ``ablation``) and ``<!-- /bench_mnist1d: ... -->``
markers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainwell.data import Dataset, load_dataset
from trainwell.execute import RunContext, execute
from trainwell.models import MNIST1D_REFERENCE
from trainwell.recipe import Recipe, load_recipe
from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "mnist1d_fast.toml"
ABLATION = ROOT / "studies" / "mnist1d_fast_ablation.toml"
SELECT = ROOT / "studies" / "mnist1d_fast_select.toml"
TIME_GOAL = 0.20


def standard_mnist1d() -> dict[str, torch.Tensor]:
    """MNIST-1D as ``mnist1d.data.make_dataset`` makes it with its default arguments.

    5,000 samples, the first 4,000 for training and the last 1,000 for testing; inputs as
    float32 tensors shaped ``(N, 1, 40)``, labels as int64.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    raw = make_dataset(args)
    return {"x_train": torch.from_numpy(np.asarray(raw["x"], np.float32))[:, None, :],
            "y_train": torch.from_numpy(np.asarray(raw["y"], np.int64)),
            "x_test": torch.from_numpy(np.asarray(raw["x_test"], np.float32))[:, None, :],
            "y_test": torch.from_numpy(np.asarray(raw["y_test"], np.int64))}


def study_dataset(recipe: Recipe) -> Dataset:
    """The dataset ``recipe`` trains on, loaded by trainwell as ``execute`` would."""
    return load_dataset(recipe.data.name, **recipe.data.options)


def same_arrays(ds: Dataset, arrays: dict[str, torch.Tensor]) -> bool:
    """True when the Dataset's test split is exactly ``arrays``' (in order), its training split
    holds exactly the same (input, label) pairs in some order, and no validation split takes
    samples away from training."""
    def rows(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        table = np.concatenate([x.flatten(1).double().numpy(), y[:, None].double().numpy()], 1)
        return table[np.lexsort(table.T[::-1])]

    return (len(ds.x_val) == 0 and torch.equal(ds.x_test, arrays["x_test"])
            and torch.equal(ds.y_test, arrays["y_test"])
            and ds.x_train.shape == arrays["x_train"].shape
            and np.array_equal(rows(ds.x_train, ds.y_train),
                               rows(arrays["x_train"], arrays["y_train"])))


class ConvBase(nn.Module):
    """The mnist1d repository's ``ConvBase``: 3 strided Conv1d (25 channels), ReLU, Linear."""

    def __init__(self, channels: int = 25, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(channels * 5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        h = F.relu(self.conv3(h))
        return self.linear(h.flatten(1))


Timing = tuple[float, float, float]
"""Test accuracy, wall-clock seconds and CPU seconds (this process's) of one training run."""


def train_reference(data: dict[str, torch.Tensor], seed: int,
                    steps: int = MNIST1D_REFERENCE["steps"]) -> Timing:
    """Train ConvBase as the mnist1d repository's code does (:data:`MNIST1D_REFERENCE`: batch
    ``t`` is samples ``B t mod N`` onwards, in the stored order) for ``steps`` steps; return its
    test accuracy and training seconds (wall clock and CPU)."""
    ref = MNIST1D_REFERENCE
    if ref["optimizer"] != "adam" or ref["batches"] != "in order":
        raise SystemExit(f"the reference loop trains with Adam on batches in order, not {ref}")
    torch.manual_seed(seed)
    model = ConvBase()
    opt = torch.optim.Adam(model.parameters(), lr=ref["lr"], weight_decay=ref["weight_decay"])
    batch = ref["batch_size"]
    x, y = data["x_train"], data["y_train"]
    t0, c0 = time.perf_counter(), time.process_time()
    model.train()
    for step in range(steps):
        start = (step * batch) % len(x)
        xb, yb = x[start:start + batch], y[start:start + batch]
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    with torch.no_grad():
        acc = (model(data["x_test"]).argmax(1) == data["y_test"]).float().mean().item()
    return acc, seconds, cpu


def train_study(recipe: Recipe, ds: Dataset, seed: int, threads: int) -> Timing:
    """Run ``recipe`` with ``seed`` on ``ds``; return its test accuracy and the seconds of
    ``execute`` (wall clock and CPU)."""
    raw = recipe.to_dict()
    raw["train"] = {**raw["train"], "seed": seed, "threads": threads, "device": "cpu"}
    run = Recipe.from_dict(raw)
    t0, c0 = time.perf_counter(), time.process_time()
    out = execute(run, RunContext(dataset=ds))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out.status != "done":
        raise RuntimeError(f"{run.name or 'the study'} ended {out.status}: {out.history.error}")
    return out.history.final["test_acc"], seconds, cpu


def select(seeds: int, threads: int, only: list[str] | None = None,
           path: Path = SELECT, splits: bool = False) -> list[str]:
    """Train each variant of the sweep at ``path`` on 3,200 of the 4,000 training samples
    (``data.val_fraction = 0.2`` whatever the sweep says); return a table of accuracy on the
    other 800 (1 and 5 shifted views) and time. With ``splits``, seed ``k`` also draws its own
    3,200 / 800 split (``data.split_seed = k``): the mean is then over as many splits as
    seeds, so no one set of 800 samples decides."""
    from trainwell.ensemble.predictions import probabilities

    sweep = load_sweep(path).with_seeds(1)
    candidates = []
    for point, _, recipe in sweep.recipes():
        label = str(point["variant"]["label"])
        if not only or label in only:
            raw = recipe.to_dict()
            raw["data"] = {**raw["data"], "val_fraction": 0.2}
            candidates.append((label, Recipe.from_dict(raw)))
    results: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in candidates}
    for seed in range(seeds):
        ds = _split(candidates[0][1], seed if splits else None)
        for label, recipe in candidates:
            raw = recipe.to_dict()
            raw["train"] = {**raw["train"], "seed": seed, "threads": threads, "device": "cpu"}
            if splits:
                raw["data"] = {**raw["data"], "split_seed": seed}
            t0 = time.perf_counter()
            out = execute(Recipe.from_dict(raw), RunContext(dataset=ds, keep_model=True))
            seconds = time.perf_counter() - t0
            assert out.model is not None and out.status == "done", out.history.error
            probs = probabilities(out.model, ds.x_val, views=5)
            five = (probs.argmax(1) == ds.y_val).float().mean().item()
            results[label].append((out.history.final["val_acc"], five, seconds))
            print(f"  seed {seed} {label}: val {100 * results[label][-1][0]:.1f} % "
                  f"(5 views {100 * five:.1f} %) in {seconds:.1f} s", flush=True)
    lines = [f"validation: {len(ds.x_train)} train / {len(ds.x_val)} val samples of the 4,000"
             + (f", a new split for each of the {seeds} seeds" if splits else ""),
             "| candidate | val accuracy (%) | with 5 shifted views (%) | seconds per run |",
             "|---|---|---|---|"]
    for label, rows in results.items():
        lines.append(f"| {label} | {_mean_std([r[0] for r in rows])} | "
                     f"{_mean_std([r[1] for r in rows])} | "
                     f"{statistics.mean(r[2] for r in rows):.1f} |")
    return lines


def _split(recipe: Recipe, split_seed: int | None) -> Dataset:
    """The dataset ``recipe`` trains on, with its validation split drawn by ``split_seed``
    (``None``: the recipe's own)."""
    if split_seed is None:
        return study_dataset(recipe)
    return load_dataset(recipe.data.name, **{**recipe.data.options, "split_seed": split_seed})


def _mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


Results = dict[str, tuple[list[float], list[float], list[float]]]
"""Per contender: test accuracies, wall-clock seconds and CPU seconds, one per seed."""


def _measure(contenders: dict[str, Any], data: dict[str, torch.Tensor], ds: Dataset,
             seeds: int, threads: int) -> Results:
    results: Results = {k: ([], [], []) for k in contenders}
    for seed in range(seeds):
        for name, recipe in contenders.items():
            timing = (train_reference(data, seed) if recipe is None
                      else train_study(recipe, ds, seed, threads))
            for values, value in zip(results[name], timing, strict=True):
                values.append(value)
            print(f"  seed {seed} {name}: {100 * timing[0]:.1f} % in {timing[1]:.1f} s "
                  f"({timing[2]:.1f} s CPU)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ablation", action="store_true",
                        help="run the variants of studies/mnist1d_fast_ablation.toml too")
    parser.add_argument("--select", nargs="?", const=SELECT, default=None, type=Path,
                        metavar="SWEEP", help="the variants of a sweep (default: "
                        "studies/mnist1d_fast_select.toml) on a validation split of the "
                        "training samples")
    parser.add_argument("--variant", action="append", default=None, metavar="LABEL",
                        help="with --select: only this candidate (repeatable)")
    parser.add_argument("--splits", action="store_true",
                        help="with --select: each seed on its own 3,200 / 800 split")
    parser.add_argument("--write", type=Path, default=None, metavar="MARKDOWN",
                        help="also put the numbers between the file's bench_mnist1d markers")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    if args.select is not None:
        lines = select(args.seeds, args.threads, args.variant, args.select, args.splits)
        print("\n".join(lines))
        if args.write is not None:
            _write_block(args.write, "select", lines, f"({args.seeds} seeds, "
                         f"{torch.get_num_threads()} torch threads; "
                         "`python benchmarks/bench_mnist1d.py --select`)")
        return
    study = load_recipe(STUDY)
    data = standard_mnist1d()
    ds = study_dataset(study)
    if not same_arrays(ds, data):
        raise SystemExit("the study's data are not make_dataset's standard train/test arrays")
    contenders: dict[str, Recipe | None] = {"reference ConvBase": None}
    if args.ablation:
        for point, _, recipe in load_sweep(ABLATION).with_seeds(1).recipes():
            contenders[str(point["variant"]["label"])] = recipe
    else:
        contenders["study " + STUDY.name] = study
    print(f"MNIST-1D (make_dataset defaults: {len(data['x_train'])} train / "
          f"{len(data['x_test'])} test), {args.seeds} seeds, {torch.get_num_threads()} threads")
    load_before = os.getloadavg()[0]
    results = _measure(contenders, data, ds, args.seeds, args.threads)
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    lines = (_ablation_table(results) if args.ablation else _summary(results, STUDY.name))
    print("\n".join(lines))
    print(f"({load} on {os.cpu_count()} cores)")
    if args.write is not None:
        block = "ablation" if args.ablation else "study"
        note = (f"{args.seeds} seeds, {torch.get_num_threads()} torch threads, {load} on "
                f"{os.cpu_count()} cores; "
                f"`python benchmarks/bench_mnist1d.py{' --ablation' if args.ablation else ''}`")
        _write_block(args.write, block, lines, f"({note})")


def _ablation_table(results: Results) -> list[str]:
    _, ref_wall, ref_cpu = (statistics.mean(v) for v in results["reference ConvBase"])
    lines = ["| recipe | test accuracy (%) | seconds per run | CPU seconds per run "
             "| time / reference | CPU time / reference |", "|---|---|---|---|---|---|"]
    for name, (accs, secs, cpus) in results.items():
        wall, cpu = statistics.mean(secs), statistics.mean(cpus)
        lines.append(f"| {name} | {_mean_std(accs)} | {wall:.1f} | {cpu:.1f} | "
                     f"{wall / ref_wall:.2f} | {cpu / ref_cpu:.2f} |")
    return lines


def _summary(results: Results, study: str) -> list[str]:
    _, ref_wall, ref_cpu = (statistics.mean(v) for v in results["reference ConvBase"])
    lines = [f"{'contender':34s} {'test acc (%)':>14s} {'seconds/run':>12s} {'CPU s/run':>10s}"]
    for name, (accs, secs, cpus) in results.items():
        lines.append(f"{name:34s} {_mean_std(accs):>14s} {statistics.mean(secs):12.1f} "
                     f"{statistics.mean(cpus):10.1f}")
    accs, secs, cpus = results["study " + study]
    acc = statistics.mean(accs)
    lines.append(f"goal mean test accuracy >= 99.0 %: {100 * acc:.1f} % "
                 f"{'met' if acc >= 0.99 else 'NOT met'}")
    for what, ratio in (("time", statistics.mean(secs) / ref_wall),
                        ("CPU time", statistics.mean(cpus) / ref_cpu)):
        lines.append(f"goal study {what} / reference {what} <= {TIME_GOAL:.2f}: {ratio:.2f} "
                     f"{'met' if ratio <= TIME_GOAL else 'NOT met'}")
    return lines


def _write_block(path: Path, block: str, lines: list[str], note: str) -> None:
    """Replace the lines between ``<!-- bench_mnist1d: block -->`` and
    ``<!-- /bench_mnist1d: block -->`` in the markdown file ``path`` by ``lines`` (a code block
    for ``study``, a table for ``ablation``) and ``note``."""
    text = path.read_text()
    start, end = f"<!-- bench_mnist1d: {block} -->", f"<!-- /bench_mnist1d: {block} -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path} has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    body = "\n".join(lines)
    if block == "study":
        body = f"```\n{body}\n```"
    body = f"{body}\n\n{note}"
    path.write_text(f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}")


if __name__ == "__main__":
    main()
