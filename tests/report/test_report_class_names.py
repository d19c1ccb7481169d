"""Class names in what the user reads: an .npz with string labels trains, and its class names
appear in the HTML report's data summary and in ``trainwell data``."""

import html
import re

import numpy as np
import pytest

from trainwell.cli import main
from trainwell.report.datasets import MAX_NAMES, dataset_views
from trainwell.results import open_results


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    path = tmp_path_factory.mktemp("fruit") / "fruit.npz"
    rng = np.random.default_rng(0)
    y = np.array(["pear", "apple", "fig & date"])[np.arange(150) % 3]
    x = rng.normal(size=(150, 4)) + (np.arange(150) % 3)[:, None]
    np.savez(path, x=x.astype(np.float32), y=y)
    return path


def _data_section(page):
    found = re.search(r'<div id="datasets">(.*?)</div>', page, re.S)
    assert found, "the report has no data summary"
    return found.group(1)


def test_report_shows_the_class_names_of_string_labels(fruit, tmp_path, one_thread):
    (tmp_path / "fruit.toml").write_text(
        f'[data]\nname = "arrays"\npath = "{fruit}"\n[model]\nname = "mlp"\ndepth = 1\n'
        'width = 8\n[init]\nname = ["he_normal", "glorot_uniform"]\n[train]\nepochs = 2\n')
    assert main(["compare", str(tmp_path / "fruit.toml"), "--root", str(tmp_path / "runs"),
                 "--workers", "1", "--quiet"]) == 0
    folder = tmp_path / "runs" / "fruit"
    summary = _data_section((folder / "report.html").read_text())
    names = [html.unescape(n) for n in re.findall(r'class="val class-name">([^<]*)<', summary)]
    assert names == ["apple", "fig & date", "pear"]  # sorted, as the labels are numbered
    assert "arrays" in summary and "input 4" in summary and "3 classes" in summary
    with open_results(folder) as res:
        assert [r.data["classes"] for r in res.store.runs("fruit")] == [names, names]


def test_data_command_shows_the_class_names(fruit, capsys):
    assert main(["data", str(fruit)]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("  ")][1:]
    assert rows == ["apple", "fig", "pear"]  # first word of each class row
    assert "fig & date" in out


def test_a_long_class_list_is_cut_with_a_count():
    from trainwell.run.store import RunRow

    names = [f"c{i}" for i in range(MAX_NAMES + 5)]
    run = RunRow(id="a", experiment="e", label="x", point={}, seed=0, recipe={}, status="done",
                 error=None, attempts=1, started=None, finished=None, seconds=None, final={},
                 diverged_step=None, stop_reason=None, verdicts=None,
                 data={"name": "arrays", "source": "s", "input_shape": [2],
                       "num_classes": len(names), "classes": names})
    other = RunRow(**{**run.__dict__, "id": "b", "data": {**run.data, "source": "t"}})
    old = RunRow(**{**run.__dict__, "id": "c", "data": None})  # a store from before the record
    views = dataset_views([run, other, run, old])
    assert [v["source"] for v in views] == ["s", "t"] and views[0]["runs"] == 2
    assert len(views[0]["classes"]) == MAX_NAMES and views[0]["more"] == 5
