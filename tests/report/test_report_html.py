"""The HTML report: structure, self-containment, escaping, layouts, plots."""

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from trainwell.errors import TrainwellError
from trainwell.report import plots
from trainwell.report.charts import Curve, label_colors
from trainwell.report.html import REPORT_NAME, write_report
from trainwell.run.store import Store


class Page(HTMLParser):
    """Every start tag with its attributes, and the text under each tag name."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.stack, self.text = [], [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag
                and all(v in (a.get(k.rstrip("_")) or "").split() for k, v in attrs.items())]


def cells_text(html, table_class):
    """Rows of the results table as lists of cell texts (tags stripped)."""
    body = re.search(rf'<table class="results {table_class}".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr.*?</tr>", body, re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split())
             for c in re.findall(r"<t[hd].*?</t[hd]>", r, re.S)] for r in rows]


@pytest.fixture
def report(two_axis_store, folder):
    store, ids = two_axis_store
    path = write_report(folder)
    return path.read_text(encoding="utf-8"), ids


def test_report_parses_and_names_every_run(report, folder):
    html, ids = report
    page = Page(html)
    assert (folder / REPORT_NAME).is_file()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temp left
    assert len(page.find("table", class_="results")) == 1
    assert len(page.find("table", class_="runs")) == 1
    row_ids = {a["id"] for a in page.find("tr") if a.get("id", "").startswith("run-")}
    assert row_ids == {f"run-{i}" for i in ids}
    assert "Kumar 2017, table 2" in html  # the experiment note
    assert 'lr = 0.1' in html and "[optim]" in html  # the fixed recipe as TOML


def test_report_is_self_contained(report):
    html, _ = report
    page = Page(html)
    assert "http://" not in html and "https://" not in html
    assert page.find("link") == [] and all("src" not in a for a in page.find("script"))
    images = page.find("img")
    assert len(images) == 2  # loss curves and validation accuracy
    for img in images:
        assert img["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert html.rstrip().endswith("</html>")
    assert 'document.body.dataset.rendered = "yes"' in html


def test_two_axes_are_rows_and_columns(report):
    html, _ = report
    page = Page(html)
    (table,) = page.find("table", class_="results")
    assert table["data-layout"] == "grid"
    assert (table["data-rows"], table["data-cols"]) == ("init", "model.activation")
    rows = cells_text(html, "grid")
    assert rows[0][1:] == ["relu", "tanh"]
    assert [r[0] for r in rows[1:]] == ["zeros", "he_normal", "uniform(a=-1.0, b=1.0)"]
    assert rows[1][1:] == ["n/c", "n/c"]  # zeros stays at chance
    assert rows[2][1].startswith("90.5 ± 0.7 train 95.0 ± 0.0")
    assert rows[3][2] == "n/c"  # both seeds diverged


def test_best_cell_is_highlighted(report):
    html, _ = report
    best = Page(html).find("td", class_="best")
    assert len(best) == 1 and best[0]["title"] == "he_normal · relu"
    assert "best: <strong>he_normal · relu</strong> — test acc 90.5 ± 0.7 %" in html


@pytest.mark.parametrize("axes", [["optim.lr"], ["optim.lr", "init", "model.width"]])
def test_one_and_three_axes_are_flat(folder, add_run, axes):
    with Store(folder / "results.db") as store:
        store.put_experiment("e", axes=axes, fixed={})
        for lr, acc in ((0.1, 0.9), (0.01, 0.8)):
            point = {"optim.lr": lr, "init": {"name": "he_normal"}, "model.width": 64}
            add_run(store, "e", {k: point[k] for k in axes}, train_acc=acc, test_acc=acc)
    html = write_report(folder).read_text(encoding="utf-8")
    (table,) = Page(html).find("table", class_="results")
    assert table["data-layout"] == "flat"
    rows = cells_text(html, "flat")
    assert rows[0][:len(axes)] == axes
    assert [r[0] for r in rows[1:]] == ["0.1", "0.01"]
    assert "best" in Page(html).find("tr", class_="cell")[0]["class"]


def test_user_text_is_escaped(folder, add_run):
    evil = "<script>alert(1)</script>"
    with Store(folder / "results.db") as store:
        store.put_experiment("exp" + evil, axes=["model.activation"],
                             fixed={"model": {"name": evil}}, note=evil)
        add_run(store, "exp" + evil, {"model.activation": "<script>x</script>"}, name=evil,
                note=evil)
        rid = add_run(store, "exp" + evil, {"model.activation": "relu"}, status="failed",
                      error=f"Traceback\nRuntimeError: {evil}")
    html = write_report(folder).read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<script>x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert len(Page(html).find("script")) == 1  # only the page's own script
    assert f'id="run-{rid}"' in html and "<details>" in html


def test_folder_without_results_is_an_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(TrainwellError, match="nowhere"):
        write_report(missing)
    assert not missing.exists()  # nothing created for bad input


def test_unknown_experiment_is_an_error(two_axis_store, folder):
    with pytest.raises(TrainwellError, match="'init-vs-ac'.*did you mean 'init-vs-act'"):
        write_report(folder, experiment="init-vs-ac")


def test_report_of_pending_runs_has_no_plots(folder, add_run):
    with Store(folder / "results.db") as store:
        store.put_experiment("e", axes=["optim.lr"], fixed={})
        add_run(store, "e", {"optim.lr": 0.1}, status="pending")
    html = write_report(folder).read_text(encoding="utf-8")
    assert Page(html).find("img") == [] and "No finished runs to plot yet." in html
    assert "pending" in html and "No recipe has converged" in html


def test_a_report_without_its_curves_says_so_and_the_next_draws_them(two_axis_store, folder):
    _, ids = two_axis_store
    bare = write_report(folder, flow=False, curves=False).read_text(encoding="utf-8")
    assert Page(bare).find("img") == [] and "Left out of this page" in bare
    assert {f"run-{i}" for i in ids} <= {a["id"] for a in Page(bare).find("tr") if a.get("id")}
    drawn = write_report(folder).read_text(encoding="utf-8")
    assert len(Page(drawn).find("img")) >= 2 and "Left out of this page" not in drawn


def test_smooth_matches_a_moving_average():
    rng = np.random.default_rng(0)
    v = rng.random(50)
    window = 5
    ref = [v[max(0, i - window + 1):i + 1].mean() for i in range(50)]
    np.testing.assert_allclose(plots.smooth(v, window), ref)
    v[10] = np.nan
    assert np.isfinite(plots.smooth(v, window)).all()
    assert plots.smoothing_window(10) == 1 and plots.smoothing_window(1000) == 20


def test_loss_figure_handles_divergence_and_empty_input():
    colors = label_colors(["a", "b"])
    assert len(set(colors.values())) == 2
    diverged = Curve(list(range(30)), [2.0 * 1.5 ** t for t in range(29)] + [None],
                           diverged_at=29)
    png = plots.loss_figure({"a": [diverged], "b": [Curve([0, 1], [1.0, 0.9])]},
                            colors=colors)
    assert png[:4] == b"\x89PNG"
    assert plots.loss_figure({}, colors=colors) is None
    assert plots.val_acc_figure({"a": [Curve([1], [None])]}, colors=colors) is None


def test_a_diverged_run_does_not_set_the_loss_plots_scale():
    """One run's loss in the thousands would squeeze the others into the bottom of a log axis:
    the axis fits the runs that did not diverge, and the diverged curve is cut at its top."""
    colors = label_colors(["he · relu", "uniform · relu"])
    diverged = Curve(list(range(30)), [3000.0 * 1.5 ** t for t in range(29)] + [None],
                           diverged_at=29)
    trained = Curve(list(range(30)), [2.3 - 0.05 * t for t in range(30)])
    fig = plots.loss_plot({"he · relu": [trained], "uniform · relu": [diverged]}, colors=colors)
    low, high = fig.axes[0].get_ylim()
    assert high < 10, (low, high)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "diverged (cut at the top)" in legend


def test_curves_of_a_two_axis_grid_differ_by_line_style_along_the_second_axis():
    labels = ["zeros · sigmoid", "zeros · relu", "he · sigmoid", "he · relu"]
    curves = {label: [Curve([1, 2], [0.1, 0.2 + i / 10])] for i, label in enumerate(labels)}
    fig = plots.val_acc_plot(curves, colors=label_colors(labels))
    styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles["zeros · sigmoid"] == styles["he · sigmoid"] != styles["he · relu"]
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_the_results_text_reads_as_sentences_and_the_fixed_recipe_wraps(report):
    html, _ = report
    assert re.search(r"\s<strong>n/c</strong> = did not converge", html)  # not "give.n/c"
    assert re.search(r"pre\.toml \{[^}]*white-space: pre-wrap", html)


def test_a_flat_loss_curve_gets_a_range_without_a_warning():
    """Runs whose loss is one value (one step each) draw on an axis of non-zero height; equal
    limits would make matplotlib warn."""
    import warnings

    colors = label_colors(["a"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plots.loss_plot({"a": [Curve([0], [2.3])]}, colors=colors)
    low, high = fig.axes[0].get_ylim()
    assert low < 2.3 < high
