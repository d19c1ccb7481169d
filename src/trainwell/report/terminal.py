"""Tables printed to the terminal with rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from trainwell.train.run_recipe import RunResult

__all__ = ["print_run", "print_catalogue", "fmt"]


def fmt(value: float | None, digits: int = 4) -> str:
    """A metric for a table cell; ``-`` when missing or not finite."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_run(console: Console, result: RunResult) -> None:
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
    if h.status == "diverged":
        line += f"   diverged at step {h.diverged_step}"
    if h.error:
        line += f"\nerror: {h.error}"
    console.print(line, markup=False)


def print_catalogue(console: Console) -> None:
    """Every name a recipe can use, with one line each."""
    from trainwell import data, init, models, optim

    groups = [("datasets  [data] name", data.DESCRIPTIONS),
              ("models  [model] name", models.DESCRIPTIONS),
              ("activations  [model] activation", models.ACTIVATIONS),
              ("initializers  [init] name", init.DESCRIPTIONS),
              ("optimizers  [optim] name", optim.DESCRIPTIONS)]
    for title, table_src in groups:
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, desc in table_src.items():
            table.add_row(name, str(desc))
        console.print(table)
