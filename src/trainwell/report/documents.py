"""The comparison report's figures and results table as files, for documents.

``export_figures(folder, out_dir)`` writes an experiment's plots (PNG) and its results table
(markdown) into ``out_dir`` (``trainwell report FOLDER --figures DIR``), and puts the table into
every markdown page there that marks its place (:func:`fill_tables`), so a page's table is that
of the runs.

>>> written = export_figures("runs/ensembles", "docs")  # doctest: +SKIP
>>> written[0].name, written[-1].name  # doctest: +SKIP
('ensembles-table.md', 'ensembles.md')
"""

from __future__ import annotations

import re
from pathlib import Path

from trainwell._io import atomic_write_bytes, atomic_write_text
from trainwell.report.charts import label_colors
from trainwell.report.figures import draw_ensembles, draw_figures
from trainwell.report.markdown import markdown_table
from trainwell.report.outcome import DEFAULT_NUM_CLASSES
from trainwell.report.rows import results_rows
from trainwell.report.table import pick_experiment, results_grid
from trainwell.run.store import open_store

__all__ = ["export_figures", "fill_tables"]


def export_figures(folder: str | Path, out_dir: str | Path, *, experiment: str | None = None,
                   num_classes: int = DEFAULT_NUM_CLASSES) -> list[Path]:
    """Write the report's plots (``<experiment>-loss.png``, ``<experiment>-val-acc.png``,
    ``<experiment>-lr.png`` under a schedule, ``<experiment>-ensembles.png`` with ensembles)
    and its results table (``<experiment>-table.md``)
    into ``out_dir``, for documents."""
    out = Path(out_dir)
    with open_store(folder) as store:
        name = pick_experiment(store, experiment)
        exp = store.experiment(name)
        assert exp is not None  # pick_experiment returns a recorded name
        runs = store.runs(name)
        grid = results_grid(runs, exp["axes"], num_classes=num_classes,
                            folder=Path(store.path).parent)
        colors = label_colors([c.label for c in grid.cells])
        figures = draw_figures(store, runs, colors, num_classes, flow=False)
        figures["ensembles"] = draw_ensembles(grid, colors)
    table = markdown_table(results_rows(grid, num_classes=num_classes))
    written = [atomic_write_text(out / f"{name}-table.md", table)]
    for suffix in ("loss", "val-acc", "lr", "ensembles"):
        if (png := figures[suffix]) is not None:
            written.append(atomic_write_bytes(out / f"{name}-{suffix}.png", png))
    return written + fill_tables(out, name, table)


def fill_tables(folder: str | Path, experiment: str, table: str) -> list[Path]:
    r"""Put ``table`` between ``<!-- results: EXPERIMENT -->`` and ``<!-- /results -->`` in
    every markdown page of ``folder`` that has those markers; return the pages rewritten.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "p.md").write_text("x\n<!-- results: e -->\nold\n<!-- /results -->\n")
    >>> [p.name for p in fill_tables(d, "e", "| new |\n")], (d / "p.md").read_text()
    (['p.md'], 'x\n<!-- results: e -->\n| new |\n<!-- /results -->\n')
    """
    start, end = f"<!-- results: {experiment} -->", "<!-- /results -->"
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    written = []
    for page in sorted(Path(folder).glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if start in text:
            new = pattern.sub(lambda _: f"{start}\n{table}{end}", text)
            if new != text:
                written.append(atomic_write_text(page, new))
    return written
