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
    from trainwell.report.rows import Column, Row
    from trainwell.run.store import Store

__all__ = ["print_run", "print_catalogue", "print_experiments", "print_results", "print_failed",
           "print_ensemble", "fmt"]


def fmt(value: float | None, digits: int = 4) -> str:
    """A metric for a table cell; ``-`` when missing or not finite."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_run(console: Console, result: RunOutcome) -> None:
    """One run: status, time, and loss and accuracy (%) on every split."""
    h = result.history
    title = result.recipe.name or (f"{result.recipe.model.name} · {result.recipe.init.name} · "
                                   f"{result.recipe.optim.name}")
    table = Table(title=title)
    for col in ("split", "loss", "accuracy (%)"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for split in ("train", "val", "test"):
        acc = h.final.get(f"{split}_acc")
        table.add_row(split, fmt(h.final.get(f"{split}_loss")), fmt(None if acc is None else 100 * acc, 2))
    console.print(table)
    line = f"status: {h.status}   epochs: {len(h.epochs)}   time: {h.seconds:.1f}s"
    if h.compile is not None:
        line += f" (compile warm-up {h.compile['warmup_seconds']:.1f}s)"
    if h.status == "diverged":
        line += f"   diverged at step {h.diverged_step}"
    if h.error:
        line += f"\nerror: {h.error}"
    console.print(line, markup=False)


def print_catalogue(console: Console) -> None:
    """Every name a recipe can use, with one line each, section by section
    (:func:`trainwell.sections.catalogue`)."""
    from trainwell.sections import catalogue

    for title, names in catalogue():
        table = Table(title=Text(title), title_justify="left", show_header=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, desc in names.items():
            table.add_row(Text(name), Text(str(desc)))
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


_KIND_STYLE = {"n/c": "magenta", "failed": "red", "pending": "dim"}
_COLUMN_JUSTIFY = {"axis": "left", "result": "right", "number": "right", "verdict": "left",
                   "note": "left"}


def _grid_text(row: Row | None) -> Text:
    """A grid cell: the test accuracy, then train and gap, the note, the ensemble and the
    diagnosis, each on a line of its own."""
    if row is None:
        return Text("not run", style="dim")
    text = Text(row.test, style="bold green" if row.best else _KIND_STYLE.get(row.kind, ""))
    if row.kind == "value":
        text.append(f"\ntrain {row.train} · gap {row.gap}", style="dim")
    if row.note:
        text.append(f"\n({row.note})", style="dim")
    if row.ensemble_n is not None and row.kind == "value":
        text.append(f"\nensemble of {row.ensemble_n}: {row.ensemble}", style="cyan")
    if row.verdict is not None:
        text.append(f"\n{row.verdict.text}", style="green" if row.verdict.healthy else "yellow")
    return text


def _flat_text(row: Row, column: Column) -> Text:
    if column.kind == "result":
        return Text(row.test, style="bold green" if row.best else _KIND_STYLE.get(row.kind, ""))
    if column.kind == "verdict":
        verdict = row.verdict
        return Text("") if verdict is None else Text(
            verdict.text, style="green" if verdict.healthy else "yellow")
    if column.field == "ensemble":
        return Text(row.ensemble, style="cyan")
    return Text(str(row.value(column)), style="dim" if column.kind == "note" else "")


def print_results(console: Console, store: Store, experiment: str | None = None, *,
                  num_classes: int = 10) -> None:
    """An experiment's results table, as in its HTML report (:mod:`trainwell.report.rows`):
    final test accuracy (%) mean ± std over seeds; the first axis as rows and the second as
    columns when there are two axes, one row per grid point otherwise; the best converged
    recipe in bold green, with each grid point's most important verdict, the ensemble of its
    seeds, the trained model's own accuracy where runs average, and the time per run.

    ``experiment`` defaults to the store's most recent one; ``num_classes`` sets chance level
    for the n/c rule (:data:`trainwell.report.outcome.DEFAULT_NUM_CLASSES`).
    """
    from trainwell.report.outcome import runs_classes
    from trainwell.report.rows import results_rows
    from trainwell.report.table import pick_experiment, results_grid

    name = pick_experiment(store, experiment)
    axes = (store.experiment(name) or {}).get("axes", [])
    runs = store.runs(name)
    num_classes = runs_classes(runs, num_classes)
    rows = results_rows(results_grid(runs, axes, num_classes=num_classes,
                                     folder=Path(store.path).parent), num_classes=num_classes)
    table = Table(title=Text(rows.title(name)), caption=Text(rows.caption))
    if rows.layout == "grid":
        table.add_column(Text(f"{axes[0]} \\ {axes[1]}"), style="bold")
        for col in rows.grid_cols:
            table.add_column(Text(col), justify="center")
        for grid_row in rows.grid_rows:
            table.add_row(Text(grid_row), *(_grid_text(rows.at(grid_row, col))
                                            for col in rows.grid_cols))
    else:
        for column in rows.columns:
            table.add_column(Text(column.name), justify=_COLUMN_JUSTIFY[column.kind])  # type: ignore[arg-type]
        for row in rows.rows:
            table.add_row(*(_flat_text(row, c) for c in rows.columns))
    console.print(table)
    best = rows.best
    if best is None:
        console.print("best: none yet (no recipe converged on every seed)")
    else:
        console.print(Text(f"best: {best.label} — test acc {best.test} % "
                           f"(train {best.train} %)", style="bold"))


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
