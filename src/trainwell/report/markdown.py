"""The results table as GitHub markdown, for documents (``trainwell report --figures``).

It formats the rows of :func:`~trainwell.report.rows.results_rows`: one row per grid point
with the same columns as the terminal, notebook and HTML tables, the best grid point in bold;
for exactly two axes, a grid (axis 1 down, axis 2 across) whose cells give the test accuracy,
then the train accuracy and the gap, what the mean leaves out and the ensemble of the seeds,
all in percent (the corner says so).

>>> from trainwell.report.rows import results_rows
>>> from trainwell.report.table import results_grid
>>> print(markdown_table(results_rows(results_grid([], ["init"]))), end="")
| init | test acc (%) | train acc (%) | gap (points) | seeds | time/run (s) | notes |
|---|---|---|---|---|---|---|
"""

from __future__ import annotations

from trainwell.report.rows import ResultsRows, Row

__all__ = ["markdown_table"]


def markdown_table(table: ResultsRows) -> str:
    """``table`` as a GitHub markdown table (a grid for two axes)."""
    if table.layout == "grid":
        head = [f"test acc (%): {table.axes[0]} \\ {table.axes[1]}", *table.grid_cols]
        body = [[_escape(row), *(_grid_cell(table.at(row, col)) for col in table.grid_cols)]
                for row in table.grid_rows]
    else:
        head = table.names
        body = [[_bold(_escape(str(v)), r.best) for v in table.values(r)] for r in table.rows]
    lines = ["| " + " | ".join(_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def _grid_cell(r: Row | None) -> str:
    if r is None:
        return ""
    text = r.test
    if r.kind == "value":
        text += f" (train {r.train}, gap {r.gap})"
    if r.note:
        text += f" [{r.note}]"
    if r.ensemble_n is not None and r.kind == "value":
        text += f"; ensemble of {r.ensemble_n}: {r.ensemble}"
    return _bold(_escape(text), r.best)


def _bold(text: str, best: bool) -> str:
    return f"**{text}**" if best and text else text


def _escape(text: str) -> str:
    """A cell's text with the characters markdown tables treat as structure escaped."""
    return text.replace("|", "\\|")
