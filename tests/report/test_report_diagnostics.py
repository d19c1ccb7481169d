"""The report's diagnosis parts: gradient flow per grid point, verdicts in the table and per
run, the learning-rate plot, and the verdicts in the terminal table."""

import base64
import math
import re

import pytest
from rich.console import Console

from trainwell.report import plots_diagnostics as pdx
from trainwell.report.documents import export_figures
from trainwell.report.html import render_report, write_report
from trainwell.report.table import results_grid
from trainwell.report.terminal import print_results
from trainwell.report.verdicts import CellVerdict, verdict_words
from trainwell.run.store import Store

MLP = ["hidden.0.linear", "hidden.1.linear", "hidden.2.linear", "head"]
HEALTHY = {"kind": "healthy", "message": "healthy: activations keep their scale", "fix": ""}
DEAD = {"kind": "dead", "message": "dead units: 60% of the units of layer 2 never fire",
        "fix": "set biases to 0"}
VANISHING = {"kind": "vanishing_gradient", "message": "vanishing gradient: layer 1 receives "
             "1e-05 of the gradient of layer 4", "fix": "use he_normal"}
SYMMETRIC = {"kind": "symmetric", "message": "symmetric units: all 64 units of layer 1 are "
             "identical", "fix": "use a random scheme"}


def section(html, name):
    """The HTML of one ``<section id=name>``, or ``None``."""
    found = re.search(rf'<section id="{name}">.*?</section>', html, re.S)
    return found and found.group(0)


def images(html):
    return re.findall(r'<img src="(data:image/png;base64,[^"]+)"', html)


def text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def diag_store(folder, add_run):
    """optim.lr × init, 2 seeds; gradient flow recorded except for the (0.01, zeros) point."""
    store = Store(folder / "results.db")
    store.put_experiment("e", axes=["optim.lr", "init"], fixed={})
    verdicts = {("0.1", "zeros"): ([SYMMETRIC, VANISHING], [SYMMETRIC]),
                ("0.1", "he"): ([HEALTHY], [HEALTHY]),
                ("0.01", "zeros"): (None, None),
                ("0.01", "he"): ([DEAD, HEALTHY], [HEALTHY])}
    for lr in (0.1, 0.01):
        for init in ("zeros", "he"):
            for seed in (0, 1):
                flow = (lr, init) != (0.01, "zeros")
                add_run(store, "e", {"optim.lr": lr, "init": init}, seed,
                        layers=MLP if flow else None,
                        grad_decay=1e-3 if init == "zeros" else 10 * lr,
                        verdicts=verdicts[str(lr), init][seed])
    yield store
    store.close()


def test_gradient_flow_has_one_image_per_recorded_grid_point(diag_store):
    html = render_report(diag_store, "e")
    flow = section(html, "gradient-flow")
    assert flow is not None and "first-seed" in flow
    labels = re.findall(r'<figure class="flow" data-label="([^"]+)"', flow)
    assert labels == ["0.1 · zeros", "0.1 · he", "0.01 · he"]  # grid order, unrecorded left out
    pngs = images(flow)
    assert len(pngs) == 3 and len(set(pngs)) == 3
    for uri in pngs:
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert text(flow).count("seed 0 · 4 layers") == 3
    assert "every 10 optimizer steps" in text(flow)
    assert len(images(html)) == 2 + 3  # loss, val acc, one per recorded grid point


def test_no_gradient_flow_section_without_records(two_axis_store, folder):
    html = write_report(folder).read_text(encoding="utf-8")
    assert section(html, "gradient-flow") is None and 'class="flow"' not in html
    assert len(images(html)) == 2


def test_gradient_flow_takes_the_lowest_seed_that_finished(folder, add_run):
    with Store(folder / "results.db") as store:
        store.put_experiment("e", axes=["init"], fixed={})
        add_run(store, "e", {"init": "he"}, 1, layers=MLP)
        add_run(store, "e", {"init": "he"}, 0, status="failed", error="RuntimeError: boom")
        add_run(store, "e", {"init": "he"}, 2, status="diverged", diverged_step=30, layers=MLP)
        html = render_report(store, "e")
    assert "seed 1 · 4 layers" in text(section(html, "gradient-flow"))


def test_verdict_line_in_each_cell_and_share_when_seeds_disagree(diag_store):
    html = render_report(diag_store, "e")
    table = re.search(r'<table class="results grid".*?</table>', html, re.S).group(0)
    cells = {m.group(1): text(m.group(2)) for m in
             re.finditer(r'<td class="cell[^"]*" title="([^"]+)">(.*?)</td>', table, re.S)}
    assert cells["0.1 · zeros"].endswith("symmetric units")
    assert cells["0.1 · he"].endswith("healthy")
    assert cells["0.01 · he"].endswith("dead units (1/2)")
    assert "units" not in cells["0.01 · zeros"] and "healthy" not in cells["0.01 · zeros"]
    assert len(re.findall(r'class="verdict v-bad"', table)) == 2
    assert len(re.findall(r'class="verdict v-ok"', table)) == 1


def test_every_verdict_with_its_fix_is_listed_under_its_run(diag_store):
    html = render_report(diag_store, "e")
    runs = section(html, "runs")
    blocks = re.findall(r'<tbody>.*?</tbody>', runs, re.S)
    zeros_seed0 = next(b for b in blocks if "0.1 · zeros" in b and '"num">0<' in b)
    shown = text(zeros_seed0)
    for v in (SYMMETRIC, VANISHING):
        assert v["message"] in shown and f"fix: {v['fix']}" in shown
    assert text(runs).count(DEAD["message"]) == 1
    unrecorded = [b for b in blocks if "0.01 · zeros" in b]
    assert len(unrecorded) == 2 and all("verdict" not in b for b in unrecorded)


def test_verdict_text_is_escaped(folder, add_run):
    evil = {"kind": "<b>odd</b>", "message": "<script>alert(1)</script> & more",
            "fix": "<img src=x onerror=alert(2)>"}
    with Store(folder / "results.db") as store:
        store.put_experiment("e", axes=["init"], fixed={})
        add_run(store, "e", {"init": "he"}, verdicts=[evil])
        html = render_report(store, "e")
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>odd" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;odd&lt;/b&gt;" in html  # an unknown kind is shown as it is


COSINE = [0.05 * (1 + math.cos(math.pi * t / 120)) for t in range(120)]


@pytest.mark.parametrize(("schedules", "shown"), [
    ({"cosine": COSINE, "none": None}, True),
    ({"flat": [0.1] * 120, "none": None}, False),
    ({"none": None, "also none": None}, False),
])
def test_lr_plot_only_when_the_lr_varies(folder, tmp_path, add_run, schedules, shown):
    with Store(folder / "results.db") as store:
        store.put_experiment("e", axes=["schedule.name"], fixed={})
        for name, lr in schedules.items():
            for seed in (0, 1):
                add_run(store, "e", {"schedule.name": name}, seed, step_lr=lr)
        html = render_report(store, "e")
    lr_section = section(html, "lr")
    assert (lr_section is not None) == shown
    assert len(images(html)) == 2 + shown
    if shown:
        assert len(images(lr_section)) == 1
    written = [p.name for p in export_figures(folder, tmp_path / "figs")]
    assert ("e-lr.png" in written) == shown


def test_terminal_table_shows_verdicts(diag_store):
    console = Console(record=True, width=150)
    print_results(console, diag_store, "e")
    out = console.export_text()
    for words in ("symmetric units", "healthy", "dead units (1/2)"):
        assert words in out
    assert out.count("healthy") == 1


def test_cell_verdict_ranks_causes_first_and_counts_seeds(diag_store):
    grid = results_grid(diag_store.runs("e"), ["optim.lr", "init"])
    verdicts = {c.label: c.verdict for c in grid.cells}
    assert verdicts["0.1 · zeros"] == CellVerdict("symmetric", 2, 2)
    assert verdicts["0.01 · he"] == CellVerdict("dead", 1, 2)
    assert verdicts["0.01 · zeros"] is None
    assert CellVerdict("brand_new", 1, 3).text == "brand new (1/3)"
    assert verdict_words("lr_too_high") == "lr too high"


def test_layer_order_is_forward_order():
    names = ["head", "hidden.10.linear", "hidden.2.linear", "hidden.0.linear"]
    assert pdx.layer_order(names) == ["hidden.0.linear", "hidden.2.linear", "hidden.10.linear",
                                      "head"]
    assert pdx.layer_order(["head", "features.1.conv", "features.0.conv"]) == [
        "features.0.conv", "features.1.conv", "head"]


def test_flow_run_reads_metrics_and_limits_are_shared():
    metrics = {"loss": ([0, 1], [2.3, 2.2]),
               "grad_norm/head": ([0, 10], [0.5, 0.0]), "act_std/head": ([0, 10], [1.0, None]),
               "grad_norm/hidden.0.linear": ([0, 10], [1e-6, 2e-6]),
               "act_std/hidden.0.linear": ([0, 10], [0.3, 0.2])}
    run = pdx.flow_run("a", 0, metrics)
    assert [layer.name for layer in run.layers] == ["hidden.0.linear", "head"]
    assert run.layers[1].act_std == [1.0, None] and run.every == 10
    assert pdx.flow_run("b", 0, {"loss": ([0], [1.0])}) is None
    other = pdx.FlowRun("c", 0, [pdx.LayerFlow("x", [0, 20], [30.0, 3.0], [5.0, 4.0])])
    limits = pdx.flow_limits([run, other])
    assert limits.steps == 20
    assert limits.grad == (1e-6, 30.0, True)  # the zero is flagged, not taken as the minimum
    assert limits.act == (0.2, 5.0, False)
    png = pdx.gradient_flow_figure(run, limits=limits)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdx.depth_colors(1) == pdx.depth_colors(3)[:1] and len(set(pdx.depth_colors(7))) == 7


def test_a_run_that_did_not_train_never_shows_a_healthy_verdict(folder, add_run):
    """Stored before verdicts agreed with outcomes: a healthy probe on a run at chance and on a
    diverged one; the report shows neither as healthy, and the trained run stays healthy."""
    store = Store(folder / "results.db")
    store.put_experiment("e", axes=["init"], fixed={})
    add_run(store, "e", {"init": "chance"}, train_acc=0.11, test_acc=0.1, verdicts=[HEALTHY])
    add_run(store, "e", {"init": "diverged"}, status="diverged", diverged_step=30,
            train_acc=None, test_acc=None, verdicts=[HEALTHY])
    add_run(store, "e", {"init": "he"}, verdicts=[HEALTHY])
    html = render_report(store, "e")
    store.close()
    chips = re.findall(r'<span class="(?:verdict|vchip) (v-ok|v-bad)">([^<]+)</span>', html)
    assert ("v-ok", "healthy") in chips
    assert chips.count(("v-ok", "healthy")) == 2  # the he run: its table cell and its run line
    assert ("v-bad", "did not train") in chips
