"""Which regularizers the `regularize` experiment's combined variant should hold, chosen on
validation accuracy: each single regularizer whose mean final validation accuracy over the
seeds beats the unregularized baseline's by more than the baseline's standard deviation. The
test set plays no part. Prints the table and whether the experiment's combined variant is
that set; ``--docs docs`` also fills it into docs/regularization.md.

Run:  python studies/regularize_pick.py runs/regularize --docs docs
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path

from trainwell.report.documents import fill_tables
from trainwell.run.store import open_store

BASELINE, COMBINED = "none", "combined: "
NOT_SINGLE = ("deeper",)
"""Variants that are not one regularizer added to the baseline (another network)."""


def short(label: str) -> str:
    """A variant's regularizer without its setting.

    >>> short("dropout (0.5)"), short("batch norm")
    ('dropout', 'batch norm')
    """
    return re.sub(r"\s*\(.*\)$", "", label)


def choose(val: dict[str, list[float]]) -> tuple[float, list[str]]:
    """The bar (baseline mean + its std) and the single regularizers above it, best first.

    >>> choose({"none": [0.80, 0.82], "dropout (0.5)": [0.85, 0.86], "L2": [0.81, 0.82]})[1]
    ['dropout']
    """
    base = val[BASELINE]
    bar = statistics.fmean(base) + (statistics.stdev(base) if len(base) > 1 else 0.0)
    singles = {label: statistics.fmean(v) for label, v in val.items()
               if label != BASELINE and not label.startswith(COMBINED)
               and not label.startswith(NOT_SINGLE)}
    return bar, [short(k) for k in sorted(singles, key=lambda k: -singles[k]) if singles[k] > bar]


def table(folder: Path) -> str:
    with open_store(folder, readonly=True) as store:
        runs = [r for r in store.runs(store.experiments()[-1]) if r.status == "done"]
    val: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        val[r.label].append(r.final["val_acc"])
    bar, chosen = choose(val)
    lines = ["| variant | validation accuracy (%) | above the bar |", "|---|---|---|"]
    for label, v in val.items():
        std = statistics.stdev(v) if len(v) > 1 else 0.0
        mark = "yes" if short(label) in chosen and not label.startswith(COMBINED) else ""
        lines.append(f"| {label} | {100 * statistics.fmean(v):.1f} ± {100 * std:.1f} | {mark} |")
    combined = next((k for k in val if k.startswith(COMBINED)), "")
    held = sorted(p.strip() for p in combined.removeprefix(COMBINED).split(","))
    verdict = ("is" if held == sorted(chosen) else "is NOT") + " that set"
    lines += ["", f"The bar: {100 * bar:.1f} % (the baseline's mean plus its standard deviation). "
              f"Chosen on validation: {', '.join(chosen) or 'none'}; the experiment's combined "
              f"variant ({', '.join(held)}) {verdict}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the regularize experiment's folder")
    parser.add_argument("--docs", type=Path, help="also fill the table into the pages of this folder")
    args = parser.parse_args(argv)
    text = table(args.folder)
    print(text)
    if args.docs:
        for page in fill_tables(args.docs, "regularize-validation", text + "\n"):
            print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
