"""tw.compare is trainwell compare from Python: same store, same checks, same messages."""

import re
import statistics
from html.parser import HTMLParser

import pytest
from matplotlib.figure import Figure

import trainwell as tw
from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.run.store import open_store

SWEEP = """
note = "tiny <script>alert('note')</script> grid"
[data]
name = "digits"
[model]
name = "mlp"
depth = 1
width = 16
[train]
epochs = 2
threads = 1
"""


def _store_contents(folder):
    """Every run's id, label, point, seed, recipe, status and final metrics, and its metrics
    (without the wall-clock seconds)."""
    with open_store(folder) as store:
        runs = {r.id: (r.label, r.point, r.seed, r.recipe, r.status, r.final)
                for r in store.runs("tiny")}
        metrics = {}
        for run, step, name, value in store.metrics(list(runs)):
            if name != "seconds":
                metrics.setdefault(run, []).append((step, name, value))
    return runs, metrics


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """The same comparison through the command line and through tw.compare."""
    root = tmp_path_factory.mktemp("cmp")
    (root / "tiny.toml").write_text(SWEEP)
    code = main(["compare", str(root / "tiny.toml"), "--init", "he_normal,zeros", "--seeds", "2",
                 "--set", "optim.lr=0.01", "--root", str(root / "cli"), "--workers", "2",
                 "--quiet"])
    res = tw.compare(root / "tiny.toml", init=["he_normal", "zeros"], seeds=2, optim__lr=0.01,
                     root=root / "py", workers=2, quiet=True)
    yield code, root, res
    res.close()


def test_compare_writes_the_same_store_as_the_command_line(compared):
    code, root, res = compared
    assert code == 0
    cli_runs, cli_metrics = _store_contents(root / "cli" / "tiny")
    py_runs, py_metrics = _store_contents(root / "py" / "tiny")
    assert len(py_runs) == 4 and {r[4] for r in py_runs.values()} == {"done"}
    assert py_runs == cli_runs
    assert py_metrics == cli_metrics and all(py_metrics.values())
    assert res.experiment == "tiny" and res.folder == root / "py" / "tiny"
    assert (res.folder / "report.html").is_file()
    assert res.outcome is not None and res.outcome.ran == 4 and not res.outcome.failed


class _Tables(HTMLParser):
    """The header and body cells (text) of every table.results.flat of a page."""

    def __init__(self):
        super().__init__()
        self.head, self.rows, self._in, self._cell = [], [], False, None

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "table":
            self._in = "flat" in cls.split()
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif self._in and tag in ("th", "td") and self._cell is not None:
            text = re.sub(r"\s+", " ", "".join(self._cell)).strip()
            (self.head if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_table_has_the_report_tables_columns_and_cells(compared):
    _, _, res = compared
    page = _Tables()
    page.feed(res.report().read_text(encoding="utf-8"))
    table = res.table(formatted=True)
    assert list(table.columns) == page.head
    assert "init.name" in page.head and "test acc (%)" in page.head
    shown = [[str(v) for v in row] for row in table.itertuples(index=False)]
    assert shown == [row for row in page.rows if row]
    assert set(table["init.name"]) == {"he_normal", "zeros"}


def test_table_numbers_are_fractions_over_the_seeds_and_match_the_shown_text(compared):
    _, _, res = compared
    numbers, shown = res.table(), res.table(formatted=True)
    unitless = {"init.name", "result", "seeds", "diagnosis", "notes"}
    assert all(name in unitless or "(" in name or name.endswith(" n") for name in numbers.columns)
    for init in ("he_normal", "zeros"):
        accs = [r["test_acc"] for r in res.runs(where={"init.name": init})]
        row = numbers[numbers["init.name"] == init].iloc[0]
        assert row["test acc mean (fraction)"] == pytest.approx(statistics.mean(accs))
        assert row["test acc std (fraction)"] == pytest.approx(statistics.stdev(accs))
        assert row["test acc n"] == 2 and row["seeds"] == 2 and 0 <= row["test acc mean (fraction)"] <= 1
        text = shown[shown["init.name"] == init].iloc[0]["test acc (%)"]
        if row["result"] == "value":
            assert text == f"{100 * statistics.mean(accs):.1f} ± {100 * statistics.stdev(accs):.1f}"
        else:
            assert text == row["result"]


def test_frames_are_the_experiments_runs_and_metrics(compared):
    _, _, res = compared
    runs = res.runs_frame()
    assert len(runs) == 4 and set(runs["init.name"]) == {"he_normal", "zeros"}
    metrics = res.metrics_frame(names=["val_acc"])
    assert set(metrics["run"]) == set(runs["id"]) and len(metrics) == 4 * 2


def test_plots_are_figures_with_a_line_per_grid_point(compared):
    _, _, res = compared
    loss, acc = res.plot_loss(), res.plot_accuracy()
    assert isinstance(loss, Figure) and isinstance(acc, Figure)
    loss_lines = [ln for ln in loss.axes[0].get_lines() if len(ln.get_xdata())]
    assert {ln.get_label() for ln in loss_lines} == {"he_normal", "zeros"}
    assert all(len(ln.get_xdata()) > 10 for ln in loss_lines)
    acc_lines = {ln.get_label(): ln.get_ydata() for ln in acc.axes[0].get_lines()
                 if ln.get_label() in ("he_normal", "zeros")}
    assert sorted(acc_lines) == ["he_normal", "zeros"]
    assert all(len(y) == 2 and 0 <= min(y) <= max(y) <= 100 for y in acc_lines.values())


def test_repr_html_shows_the_table_with_user_text_escaped(compared):
    _, _, res = compared
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert "he_normal" in html and html.count("<tr") == 1 + 2
    assert "tiny" in repr(res) and "4 done" in repr(res)


def test_axis_values_and_names_are_escaped(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    sweep = {"name": "<b>named</b>", "data": {"name": "digits"},
             "model": {"name": "linear"}, "train": {"epochs": 1, "record_every": 0},
             "sweep": {"variants": [{"label": hostile, "optim": {"lr": 0.01}},
                                    {"label": "<script>x</script>", "optim": {"lr": 0.02}}]}}
    with tw.compare(sweep, name="<i>exp", root=tmp_path, workers=2, quiet=True) as res:
        html = res._repr_html_()
        assert res.experiment == "<i>exp" and len(res.runs()) == 2
    for raw in (hostile, "<script>", "<i>", "<b>"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;i&gt;exp" in html


@pytest.mark.parametrize(("argv", "kwargs", "key", "flag"), [
    (["--init", "zeros,he_nrmal"], {"init": ["zeros", "he_nrmal"]}, "init.name", "init.name"),
    (["--lr", "0.1,-3"], {"lr": [0.1, -3]}, "optim.lr", "optim.lr"),
    (["--seeds", "0"], {"seeds": 0}, "sweep.seeds", "sweep.seeds"),
    (["--backend", "slurm"], {"backend": "slurm"}, "backend", "--backend"),
    (["--workers", "0"], {"workers": 0}, "workers", "--workers"),
    (["--set", "optim.lrr=0.1"], {"optim__lrr": 0.1}, "optim.lrr", "optim.lrr"),
    (["--axis", "bogus.key=1,2"], {"axis": {"bogus.key": [1, 2]}}, "bogus.key", "bogus.key"),
])
def test_bad_arguments_raise_the_command_lines_message(argv, kwargs, key, flag, tmp_path, capsys):
    """The same check and message both ways; a backend option is named by its parameter in
    Python and by its flag on the command line."""
    args = ["--set", "data.name=digits", "--set", "train.epochs=1"]
    assert main(["compare", *argv, *args, "--root", str(tmp_path / "cli"), "-q"]) == 2
    printed = capsys.readouterr().err.strip()
    with pytest.raises(ConfigError) as caught:
        tw.compare(**kwargs, set=["data.name=digits", "train.epochs=1"], root=tmp_path / "py",
                   quiet=True)
    assert caught.value.key == key
    assert printed == f"error: {ConfigError(flag, caught.value.value, caught.value.allowed)}"
    assert not (tmp_path / "py").exists() and not (tmp_path / "cli").exists()


@pytest.mark.parametrize(("kwargs", "key", "needle"), [
    ({"seeds": "3"}, "sweep.seeds", "a whole number >= 1"),
    ({"worker": 2}, "worker", "did you mean 'workers'?"),
    ({"epochs": 2}, "epochs", "optim__lr=0.1 sets optim.lr"),
    ({"set": {"optim__lr": 0.1}}, "set", "dotted keys"),
    ({"set": {"optim.lr": 0.1}, "optim__lr": 0.2}, "optim.lr", "given twice"),
    ({"init": 3.5j}, "init", "a list of values"),
    ({"sweep": 42}, "sweep", "a built-in experiment"),
    ({"retries": -1}, "retries", "a whole number >= 0"),
    ({"cpus_per_run": 0, "backend": "ray"}, "cpus_per_run", "a number > 0"),
])
def test_python_only_mistakes_name_the_key(kwargs, key, needle, tmp_path):
    with pytest.raises(ConfigError, match=re.escape(needle)) as caught:
        tw.compare(**kwargs, root=tmp_path / "runs", quiet=True)
    assert caught.value.key == key
    assert not (tmp_path / "runs").exists()


def test_an_empty_store_shows_a_line_in_a_notebook(tmp_path):
    from trainwell.run.store import Store

    Store(tmp_path / "<b>" / "results.db").close()
    with tw.open_results(tmp_path / "<b>") as res:
        html = res._repr_html_()
    assert html.startswith("<p>No experiment recorded in ") and "/&lt;b&gt; yet." in html
