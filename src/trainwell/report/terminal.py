"""Tables printed to the terminal with rich."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from trainwell.execute import RunOutcome
    from trainwell.report.ensembles import RunsEnsemble
    from trainwell.report.table import Cell
    from trainwell.run.store import Store

__all__ = ["print_run", "print_catalogue", "print_experiments", "print_results", "print_failed",
           "print_ensemble", "fmt"]


def fmt(value: float | None, digits: int = 4) -> str:
    """A metric for a table cell; ``-`` when missing or not finite."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_run(console: Console, result: RunOutcome) -> None:
    """One run: status, time, and loss/accuracy on every split."""
    h = result.history
    title = result.recipe.name or (f"{result.recipe.model.name} · {result.recipe.init.name} · "
                                   f"{result.recipe.optim.name}")
    table = Table(title=title)
    for col in ("split", "loss", "accuracy"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for split in ("train", "val", "test"):
        table.add_row(split, fmt(h.final.get(f"{split}_loss")), fmt(h.final.get(f"{split}_acc")))
    console.print(table)
    line = f"status: {h.status}   epochs: {len(h.epochs)}   time: {h.seconds:.1f}s"
    if "compile" in h.extra:
        line += f" (compile warm-up {h.extra['compile']['warmup_seconds']:.1f}s)"
    if h.status == "diverged":
        line += f"   diverged at step {h.diverged_step}"
    if h.error:
        line += f"\nerror: {h.error}"
    console.print(line, markup=False)


def print_catalogue(console: Console) -> None:
    """Every name a recipe can use, with one line each."""
    from trainwell import data, init, models, optim, pretrain, regularize
    from trainwell.data.augment import TRANSFORM_DESCRIPTIONS
    from trainwell.ensemble import AVERAGING, SNAPSHOT_OPTIONS
    from trainwell.loop.speed import SPEED_OPTIONS

    groups = [("datasets  [data] name", data.DESCRIPTIONS),
              ("models  [model] name", models.DESCRIPTIONS),
              ("activations  [model] activation", models.ACTIVATIONS),
              ("initializers  [init] name", init.DESCRIPTIONS),
              ("data-driven initializers  [init] name", pretrain.DESCRIPTIONS),
              ("optimizers  [optim] name", optim.DESCRIPTIONS),
              ("learning-rate schedules  [schedule] name", optim.SCHEDULE_DESCRIPTIONS),
              ("regularizers  [regularize], [model], [augment], [train]", regularize.REGULARIZERS),
              ("augmentations  [augment] transforms", TRANSFORM_DESCRIPTIONS),
              ("weight averaging  [average] kind", AVERAGING),
              ("snapshot ensembles  [ensemble]", SNAPSHOT_OPTIONS),
              ("speed  [train] precision, compile, channels_last", SPEED_OPTIONS)]
    for title, table_src in groups:
        table = Table(title=Text(title), title_justify="left", show_header=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, desc in table_src.items():
            table.add_row(name, str(desc))
        console.print(table)


def print_experiments(console: Console) -> None:
    """The built-in experiments: name, runs (grid points x seeds) and what each compares."""
    from trainwell.experiments import EXPERIMENTS, experiment_path
    from trainwell.sweep import load_sweep

    table = Table(title=Text("built-in experiments  trainwell compare NAME"), title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("runs", justify="right")
    table.add_column("description")
    for name, desc in EXPERIMENTS.items():
        runs = len(load_sweep(experiment_path(name)).recipes())
        table.add_row(name, str(runs), Text(desc))
    console.print(table)


_CELL_STYLE = {"n/c": "magenta", "failed": "red", "pending": "dim"}


def _cell_text(cell: Cell | None, *, with_train: bool) -> Text:
    if cell is None:
        return Text("not run", style="dim")
    main = cell.text("test")
    style = "bold green" if cell.best else _CELL_STYLE.get(main, "")
    text = Text(main, style=style)
    if with_train and main not in _CELL_STYLE:
        text.append(f"\ntrain {cell.text('train')} · gap {cell.text('gap')}", style="dim")
    if cell.note:
        text.append(f"\n({cell.note})", style="dim")
    if with_train and cell.ensemble is not None and main not in _CELL_STYLE:
        text.append(f"\nensemble of {cell.ensemble.score.n}: {cell.ensemble_text}", style="cyan")
    verdict = cell.verdict
    if verdict is not None:
        text.append(f"\n{verdict.text}", style="green" if verdict.healthy else "yellow")
    return text


def print_results(console: Console, store: Store, experiment: str | None = None, *,
                  num_classes: int = 10) -> None:
    """An experiment's results table, as in its HTML report: final test accuracy (%) mean ±
    std over seeds; the first axis as rows and the second as columns when there are two
    axes, one row per grid point otherwise; the best converged recipe in bold green. Under
    each cell's numbers, the most important verdict of its seeds' diagnoses (when recorded).
    With two or more seeds, the accuracy of the ensemble of the seeds (the mean of their
    stored probabilities); for runs that average (weights, snapshots, test views), the
    trained model's own accuracy; the mean training time per run.

    ``experiment`` defaults to the store's most recent one; ``num_classes`` sets chance level
    for the n/c rule (:data:`trainwell.report.table.DEFAULT_NUM_CLASSES`).
    """
    from trainwell.report.table import (
        chance_threshold,
        format_stat,
        pick_experiment,
        results_grid,
        runs_classes,
    )

    name = pick_experiment(store, experiment)
    axes = (store.experiment(name) or {}).get("axes", [])
    runs = store.runs(name)
    num_classes = runs_classes(runs, num_classes)
    grid = results_grid(runs, axes, num_classes=num_classes,
                        folder=Path(store.path).parent)
    table = Table(title=Text(f"{name}: test accuracy (%), mean ± std over seeds"),
                  caption=Text(f"n/c: diverged, or final train accuracy below "
                               f"{100 * chance_threshold(num_classes):.1f} %"))
    if grid.layout == "grid":
        table.add_column(Text(f"{axes[0]} \\ {axes[1]}"), style="bold")
        for col in grid.cols:
            table.add_column(Text(col), justify="center")
        for row in grid.rows:
            table.add_row(Text(row), *(_cell_text(grid.at(row, col), with_train=True)
                                       for col in grid.cols))
    else:
        for key in axes or ["recipe"]:
            table.add_column(Text(key))
        ensembles = any(c.ensemble is not None for c in grid.cells)
        raws = any(c.raw is not None for c in grid.cells)
        for col in ("test acc (%)", *(["model alone (%)"] if raws else []), "train acc (%)",
                    "gap (points)", *(["ensemble (%)"] if ensembles else []), "seeds",
                    "time/run (s)"):
            table.add_column(col, justify="right")
        table.add_column("notes", style="dim")
        for cell in grid.cells:
            values = [Text(v) for v in cell.values] or [Text(cell.label)]
            value = cell.text("test") not in _CELL_STYLE
            train, gap = (cell.text("train"), cell.text("gap")) if value else ("", "")
            extra = [Text(cell.ensemble_text, style="cyan")] if ensembles else []
            alone = [Text(format_stat(cell.raw))] if raws else []
            seconds = "-" if cell.seconds is None else f"{cell.seconds:.1f}"
            table.add_row(*values, _cell_text(cell, with_train=False), *alone, Text(train),
                          Text(gap), *extra, str(cell.n), seconds, Text(cell.note))
    console.print(table)
    best = grid.best
    if best is None:
        console.print("best: none yet (no recipe converged on every seed)")
    else:
        console.print(Text(f"best: {best.label} — test acc {best.text('test')} % "
                           f"(train {best.text('train')} %)", style="bold"))


def print_failed(console: Console, store: Store, ids: Sequence[str]) -> None:
    """Name each failed run: its grid point, seed, id and the last line of its error."""
    for r in store.runs(ids=list(ids)):
        reason = (r.error or "").strip().splitlines()[-1:] or ["no error recorded"]
        console.print(Text(f"failed: {r.label} · seed {r.seed} ({r.id}): {reason[0]}", style="red"))


def print_ensemble(console: Console, result: RunsEnsemble) -> None:
    """An ensemble of runs: each member's accuracy, their mean, the ensemble's and the
    oracle's, in percent."""
    s = result.score
    table = Table(title=Text(f"ensemble of {s.n} runs: {result.split} accuracy (%)"),
                  title_justify="left")
    for col, justify in (("member", "left"), ("seed", "right"), ("run", "left"),
                         ("accuracy", "right"), ("ensemble of the first k", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r, acc, k in zip(result.runs, s.members, result.curve, strict=True):
        table.add_row(Text(r.label), str(r.seed), r.id, f"{100 * acc:.2f}", f"{100 * k:.2f}")
    console.print(table)
    console.print(Text(f"members' mean {100 * s.mean:.2f} · ensemble {100 * s.ensemble:.2f} "
                       f"({100 * s.gain:+.2f} points) · oracle {100 * s.oracle:.2f}",
                       style="bold"))
