"""The results table: n/c rules, mean ± std over seeds, best cell, layouts, terminal table."""

import statistics

import pytest
from rich.console import Console

from trainwell.errors import TrainwellError
from trainwell.report.outcome import CHANCE_MARGIN, chance_threshold, run_outcome
from trainwell.report.table import axis_values, pick_experiment, results_grid
from trainwell.report.terminal import print_results
from trainwell.run.store import RunRow, Store
from trainwell.sweep import format_point


def row(point, seed=0, *, status="done", train=0.9, test=0.85, rid=None):
    final = {} if status in ("diverged", "failed", "pending") else {"train_acc": train,
                                                                      "test_acc": test}
    return RunRow(id=rid or f"{format_point(point)}-{seed}", experiment="e",
                  label=format_point(point), point=point, seed=seed, recipe={}, status=status,
                  error=None, attempts=1, started=None, finished=None, seconds=1.0,
                  final=final, diverged_step=7 if status == "diverged" else None,
                  stop_reason=None, verdicts=None)


THRESHOLD = 1 / 10 + CHANCE_MARGIN


@pytest.mark.parametrize(("status", "train", "expected"), [
    ("diverged", None, "n/c"),
    ("done", THRESHOLD - 1e-3, "n/c"),
    ("done", THRESHOLD + 1e-3, "ok"),
    ("done", None, "n/c"),
    ("failed", None, "failed"),
    ("running", None, "unfinished"),
    ("interrupted", None, "unfinished"),
])
def test_run_outcome_at_the_edges(status, train, expected):
    assert run_outcome(row({"a": 1}, status=status, train=train)) == expected


def test_chance_depends_on_num_classes():
    r = row({"a": 1}, train=0.53)
    assert run_outcome(r, num_classes=10) == "ok"
    assert run_outcome(r, num_classes=2) == "n/c"  # below 0.5 + 0.05
    assert chance_threshold(2) == pytest.approx(0.55)
    with pytest.raises(ValueError, match="num_classes"):
        chance_threshold(1)


def test_mean_std_over_seeds_in_percent():
    runs = [row({"a": 1}, s, test=t, train=0.9) for s, t in enumerate([0.80, 0.84, 0.88])]
    cell = results_grid(runs, ["a"]).cells[0]
    assert cell.test == pytest.approx((0.84, statistics.stdev([0.80, 0.84, 0.88])))
    assert cell.text("test") == "84.0 ± 4.0"
    assert cell.note == ""
    single = results_grid(runs[:1], ["a"]).cells[0]
    assert single.text("test") == "80.0"


def test_all_nc_cell_shows_nc_and_partial_cell_counts_them():
    all_nc = [row({"a": 1}, 0, status="diverged"), row({"a": 1}, 1, train=0.1, test=0.1)]
    cell = results_grid(all_nc, ["a"]).cells[0]
    assert cell.text("test") == "n/c" and not cell.converged
    part = [row({"a": 2}, 0, test=0.9), row({"a": 2}, 1, test=0.7),
            row({"a": 2}, 2, status="diverged")]
    cell = results_grid(part, ["a"]).cells[0]
    assert cell.text("test") == "80.0 ± 14.1"  # the diverged seed has no accuracy
    assert cell.note == "1/3 n/c"
    at_chance = [row({"a": 3}, 0, test=0.9), row({"a": 3}, 1, train=0.12, test=0.1)]
    cell = results_grid(at_chance, ["a"]).cells[0]
    assert cell.text("test") == "50.0 ± 56.6" and cell.note == "1/2 n/c"


def test_failed_and_pending_cells():
    failed = results_grid([row({"a": 1}, s, status="failed") for s in range(2)], ["a"]).cells[0]
    assert failed.text("test") == "failed" and failed.note == ""
    mixed = results_grid([row({"a": 1}, 0, status="diverged"), row({"a": 1}, 1, status="failed")],
                         ["a"]).cells[0]
    assert mixed.text("test") == "n/c" and mixed.note == "1/2 failed"
    pending = results_grid([row({"a": 1}, status="pending")], ["a"]).cells[0]
    assert pending.text("test") == "pending"
    half = results_grid([row({"a": 1}, 0), row({"a": 1}, 1, status="running")], ["a"]).cells[0]
    assert half.text("test") == "85.0" and half.note == "1/2 pending"


def test_best_is_the_highest_converged_mean():
    runs = [row({"a": "partial"}, 0, test=0.99), row({"a": "partial"}, 1, status="diverged"),
            row({"a": "good"}, 0, test=0.90), row({"a": "good"}, 1, test=0.92),
            row({"a": "fine"}, 0, test=0.80), row({"a": "failed"}, 0, status="failed")]
    grid = results_grid(runs, ["a"])
    assert grid.best.label == "good"
    assert [c.label for c in grid.cells if c.best] == ["good"]
    assert results_grid([row({"a": 1}, status="diverged")], ["a"]).best is None


def test_two_axes_make_rows_and_columns():
    runs = [row({"init": {"name": i}, "act": a}, test=0.5 + 0.1 * k)
            for k, (i, a) in enumerate([(i, a) for i in ("zeros", "he") for a in ("relu", "tanh", "elu")])]
    grid = results_grid(runs, ["init", "act"])
    assert grid.layout == "grid"
    assert grid.rows == ["zeros", "he"] and grid.cols == ["relu", "tanh", "elu"]
    assert grid.at("he", "tanh").label == "he · tanh"
    assert grid.at("he", "tanh").test[0] == pytest.approx(0.9)
    assert grid.at("zeros", "nope") is None


@pytest.mark.parametrize("axes", [[], ["a"], ["a", "b", "c"]])
def test_other_axis_counts_are_flat(axes):
    point = {k: i for i, k in enumerate(axes)}
    grid = results_grid([row(point)], axes)
    assert grid.layout == "flat" and grid.rows == [] and len(grid.cells) == 1
    assert grid.cells[0].values == [str(v) for v in point.values()]


def test_axis_values_are_formatted_in_grid_order():
    runs = [row({"init": {"name": "uniform", "a": -1.0}}), row({"init": {"name": "zeros"}}),
            row({"init": {"name": "uniform", "a": -1.0}}, 1)]
    assert axis_values(runs, ["init"]) == {"init": ["uniform(a=-1.0)", "zeros"]}


def test_pick_experiment(tmp_path):
    with Store(tmp_path / "results.db") as store:
        with pytest.raises(TrainwellError, match="no experiment"):
            pick_experiment(store)
        store.put_experiment("first", axes=[], fixed={})
        store.put_experiment("second", axes=[], fixed={})
        assert pick_experiment(store) == "second"
        assert pick_experiment(store, "first") == "first"
        with pytest.raises(TrainwellError, match="'secnd'.*did you mean 'second'"):
            pick_experiment(store, "secnd")


def test_print_results_shows_the_same_table(two_axis_store):
    store, _ = two_axis_store
    console = Console(record=True, width=150)
    print_results(console, store, "init-vs-act")
    out = console.export_text()
    assert "init \\ model.activation" in out
    for text in ("relu", "tanh", "zeros", "he_normal", "uniform(a=-1.0, b=1.0)", "n/c",
                 "90.5 ± 0.7", "best: he_normal · relu — test acc 90.5 ± 0.7 %"):
        assert text in out


def test_print_results_prints_user_text_literally(tmp_path, add_run):
    with Store(tmp_path / "results.db") as store:
        store.put_experiment("e", axes=["a"], fixed={})
        add_run(store, "e", {"a": "[bold red]x[/bold red]"}, train_acc=0.9, test_acc=0.8)
        console = Console(record=True, width=120)
        print_results(console, store)
    out = console.export_text()
    assert "[bold red]x[/bold red]" in out
    assert "80.0" in out and "90.0" in out


def test_a_cell_judges_its_raw_accuracy_and_verdict_against_the_grids_classes():
    runs = [RunRow(**{**row({"a": 1}, seed, train=0.53, test=0.52).__dict__,
                      "final": {"train_acc": 0.53, "test_acc": 0.52, "test_acc_single": 0.5},
                      "verdicts": [{"kind": "healthy", "message": "", "fix": ""}]})
            for seed in range(2)]
    ten, two = (results_grid(runs, ["a"], num_classes=n).cells[0] for n in (10, 2))
    assert ten.counts["ok"] == 2 and two.counts["n/c"] == 2
    assert ten.raw == pytest.approx((0.5, 0.0)) and two.raw is None
    assert ten.verdict.kind == "healthy" and two.verdict.kind == "not_trained"
