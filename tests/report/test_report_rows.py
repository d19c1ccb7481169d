"""The results table is computed once (report/rows.py); every renderer shows those rows."""

import re

import pytest
from rich.console import Console

from trainwell.report.html import render_report
from trainwell.report.markdown import markdown_table
from trainwell.report.notebook import read_experiment, table_html, table_rows
from trainwell.report.rows import RESULT_KINDS, results_rows
from trainwell.report.table import results_grid
from trainwell.report.terminal import print_results
from trainwell.run.store import Store


def _flat_store(folder, add_run):
    store = Store(folder / "results.db")
    store.put_experiment("flat", axes=["init"], fixed={})
    add_run(store, "flat", {"init": "he"}, 0, train_acc=0.9, test_acc=0.8,
            verdicts=[{"kind": "healthy", "message": "", "fix": ""}])
    add_run(store, "flat", {"init": "he"}, 1, train_acc=0.92, test_acc=0.82)
    add_run(store, "flat", {"init": "zeros"}, 0, train_acc=0.1, test_acc=0.1)
    add_run(store, "flat", {"init": "wild"}, 0, status="diverged", diverged_step=3)
    add_run(store, "flat", {"init": "broken"}, 0, status="failed", error="boom")
    add_run(store, "flat", {"init": "later"}, 0, status="pending")
    return store


def test_each_grid_point_gets_one_result_kind(folder, add_run):
    with _flat_store(folder, add_run) as store:
        rows = results_rows(results_grid(store.runs("flat"), ["init"]))
    kinds = {r.label: r.kind for r in rows.rows}
    assert kinds == {"he": "value", "zeros": "n/c", "wild": "n/c", "broken": "failed",
                     "later": "pending"}
    assert set(kinds.values()) <= set(RESULT_KINDS)
    by_label = {r.label: r for r in rows.rows}
    assert by_label["he"].test == "81.0 ± 1.4" and by_label["he"].best
    assert (by_label["zeros"].train, by_label["zeros"].gap) == ("", "")
    assert rows.names == ["init", "test acc (%)", "train acc (%)", "gap (points)", "seeds",
                          "time/run (s)", "diagnosis", "notes"]


def test_the_numeric_table_is_the_same_rows_as_fractions_with_their_counts(folder, add_run):
    with _flat_store(folder, add_run) as store:
        rows = results_rows(results_grid(store.runs("flat"), ["init"]))
    names, values = rows.numeric()
    assert names == ["init", "result", "test acc mean (fraction)", "test acc std (fraction)",
                     "test acc n", "train acc mean (fraction)", "train acc std (fraction)",
                     "train acc n", "gap mean (fraction)", "gap std (fraction)", "gap n", "seeds",
                     "time/run (s)", "diagnosis", "notes"]
    by_init = {v[0]: dict(zip(names, v, strict=True)) for v in values}
    he, zeros = by_init["he"], by_init["zeros"]
    assert he["result"] == "value" and he["test acc n"] == 2 and he["seeds"] == 2
    assert he["test acc mean (fraction)"] == pytest.approx(0.81)
    assert he["test acc std (fraction)"] == pytest.approx(0.0141421, rel=1e-4)
    assert he["gap mean (fraction)"] == pytest.approx(0.1)
    assert zeros["result"] == "n/c" and zeros["test acc mean (fraction)"] == pytest.approx(0.1)
    assert zeros["test acc std (fraction)"] is None and zeros["test acc n"] == 1
    assert by_init["wild"]["test acc mean (fraction)"] is None
    assert {by_init[k]["result"] for k in ("broken", "later")} == {"failed", "pending"}
    shown = {r.label: r.test for r in rows.rows}
    mean, std = he["test acc mean (fraction)"], he["test acc std (fraction)"]
    assert shown["he"] == f"{100 * mean:.1f} ± {100 * std:.1f}"


def test_the_terminal_notebook_markdown_and_html_tables_have_the_same_columns(folder, add_run):
    with _flat_store(folder, add_run) as store:
        exp = read_experiment(store, "flat")
        console = Console(record=True, width=250)
        print_results(console, store, "flat")
        page = render_report(store, "flat")
    names = exp.table.names
    columns, values = table_rows(exp.table)
    assert columns == names and len(values) == 5
    terminal = console.export_text()
    header = next(line for line in terminal.splitlines() if "test acc (%)" in line)
    assert [c.strip() for c in re.split("[┃│]", header) if c.strip()] == names
    markdown = markdown_table(exp.table)
    assert markdown.splitlines()[0] == "| " + " | ".join(names) + " |"
    html_head = re.search(r'<table class="results flat".*?</thead>', page, re.S).group(0)
    assert re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", html_head) == names
    notebook = table_html(exp)
    assert re.findall(r"<th>([^<]*)</th>", notebook) == names
    for text in ("81.0 ± 1.4", "n/c", "failed", "pending", "healthy"):
        assert text in terminal and text in markdown and text in notebook and text in page


def test_a_best_row_is_marked_by_every_renderer(folder, add_run):
    with _flat_store(folder, add_run) as store:
        exp = read_experiment(store, "flat")
    assert "| **he** | **81.0 ± 1.4** |" in markdown_table(exp.table)
    assert re.search(r'<tr style="font-weight: bold">\s*<td>he</td>', table_html(exp))


def test_the_grid_layout_shows_the_same_rows(two_axis_store):
    store, _ = two_axis_store
    exp = read_experiment(store, "init-vs-act")
    table = exp.table
    assert table.layout == "grid" and table.grid_cols == ["relu", "tanh"]
    assert table.at("he_normal", "relu").best
    assert table.at("uniform(a=-1.0, b=1.0)", "tanh").kind == "n/c"
    markdown = markdown_table(table)
    assert markdown.splitlines()[0] == "| test acc (%): init \\ model.activation | relu | tanh |"
    assert "**90.5 ± 0.7 (train 95.0 ± 0.0, gap 4.5 ± 0.7)**" in markdown


def test_the_report_package_does_not_import_results():
    import subprocess
    import sys

    code = ("import sys, trainwell.report.ensembles, trainwell.report.html, "
            "trainwell.report.notebook, trainwell.report.rows, trainwell.report.terminal, "
            "trainwell.report.markdown; print('trainwell.results' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
