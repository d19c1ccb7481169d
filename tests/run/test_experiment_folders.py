"""An experiment folder under another name does not hide its results: compare says which
experiment its store holds, and a report is never replaced by an emptier one: an empty one, or
one that shows fewer runs while the store still holds those the report shows.
A report written while another process still trains some runs says so; ``ensemble --where``
names its own flag."""

import shutil

import pytest

from trainwell.cli import main
from trainwell.errors import TrainwellError
from trainwell.loop.history import History
from trainwell.report.html import REPORT_NAME, write_report
from trainwell.report.status import Shown, report_runs, report_shows
from trainwell.run.store import RunSpec, Store

RECIPE = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 8},
          "train": {"epochs": 1}}


def _experiment(folder, name, n=3, running=(), prefix="r"):
    store = Store(folder / "results.db")
    store.put_experiment(name, axes=["seed"], fixed={}, grid=[f"{prefix}{i}" for i in range(n)])
    store.add_runs([RunSpec(f"{prefix}{i}", name, "mlp", {"seed": i}, i, RECIPE)
                    for i in range(n)])
    for i in range(n):
        if i in running:
            assert store.claim(f"{prefix}{i}", "otherhost:4242:1700000000.0")
        else:
            store.finish(f"{prefix}{i}", History(
                status="done", step_loss=[1.0, 0.5],
                epochs=[{"epoch": 1, "step": 2, "train_loss": 0.5}],
                final={"test_acc": 0.9, "train_acc": 0.95}))
    store.close()
    return folder


def test_compare_under_another_name_says_which_experiment_the_folder_holds(tmp_path, capsys):
    grid = tmp_path / "runs" / "grid"
    grid.mkdir(parents=True)
    _experiment(grid, "grid")
    write_report(grid)
    copy = tmp_path / "runs" / "grid-old"
    shutil.copytree(grid, copy)
    kept = ("results.db", REPORT_NAME)
    before = {name: (copy / name).read_bytes() for name in kept}
    code = main(["compare", "--init", "he_normal", "--set", "data.name=digits", "--root",
                 str(tmp_path / "runs"), "--name", "grid-old", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "holds the experiment 'grid', not 'grid-old'" in err and "--name grid" in err
    assert {name: (copy / name).read_bytes() for name in kept} == before
    assert sorted(p.name for p in copy.iterdir() if not p.name.startswith("results.db-")) == \
        sorted(kept)


def test_a_report_with_runs_is_never_replaced_by_an_empty_one(tmp_path):
    _experiment(tmp_path, "e")
    path = write_report(tmp_path)
    assert report_runs(path) == 3
    before = path.read_bytes()
    store = Store(tmp_path / "results.db")
    store.put_experiment("e", axes=["seed"], fixed={}, grid=[])
    store.close()
    with pytest.raises(TrainwellError, match=r"kept .*report.html' \(3 runs\)"):
        write_report(tmp_path)
    assert path.read_bytes() == before


def test_a_report_is_not_replaced_by_one_of_another_experiment_with_fewer_runs(tmp_path, capsys):
    _experiment(tmp_path, "grid", n=3)
    path = write_report(tmp_path)
    assert report_shows(path) == Shown(3, "grid")
    before = path.read_bytes()
    _experiment(tmp_path, "grid-old", n=1, prefix="s")  # its store read under another name
    with pytest.raises(TrainwellError) as raised:
        write_report(tmp_path, experiment="grid-old")
    message = str(raised.value)
    assert "\n" not in message and "(3 runs of 'grid', and" in message
    assert "still holds 3" in message and "'grid-old' would show only 1" in message
    assert path.read_bytes() == before
    capsys.readouterr()
    assert main(["report", str(tmp_path), "--experiment", "grid-old"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "kept" in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_a_grid_run_again_smaller_replaces_its_report(tmp_path):
    _experiment(tmp_path, "grid", n=3)
    path = write_report(tmp_path)
    store = Store(tmp_path / "results.db")  # what compare records for a smaller grid
    store.put_experiment("grid", axes=["seed"], fixed={}, grid=["r0", "r1"])
    store.close()
    assert report_shows(write_report(tmp_path)) == Shown(2, "grid")
    store = Store(tmp_path / "results.db")  # the runs of the report shown are gone
    store.put_experiment("grid", axes=["seed"], fixed={}, grid=["r0"])
    store.close()
    _experiment(tmp_path, "other", n=1, prefix="s")
    assert report_shows(write_report(tmp_path, experiment="other")) == Shown(1, "other")
    assert path.is_file()


def test_a_report_written_before_it_named_its_experiment_is_replaced_by_a_smaller_one(tmp_path):
    _experiment(tmp_path, "grid", n=3)
    path = write_report(tmp_path)
    text = path.read_text()
    path.write_text(text.replace('<meta name="trainwell-experiment" content="grid">\n', ""))
    assert report_shows(path) == Shown(3, None)
    store = Store(tmp_path / "results.db")
    store.put_experiment("grid", axes=["seed"], fixed={}, grid=["r0"])
    store.close()
    assert report_shows(write_report(tmp_path)) == Shown(1, "grid")


def test_a_report_says_which_runs_another_process_is_still_training(tmp_path):
    busy, idle = tmp_path / "busy", tmp_path / "idle"
    busy.mkdir()
    idle.mkdir()
    _experiment(busy, "e", running=(1,))
    _experiment(idle, "e")
    text = write_report(busy).read_text()
    assert "1 run still running in another process (otherhost:4242)" in text
    assert "still running" not in write_report(idle).read_text()
    assert (idle / REPORT_NAME).is_file()


def test_ensemble_where_names_its_own_flag(tmp_path, capsys):
    _experiment(tmp_path, "e")
    assert main(["ensemble", str(tmp_path), "--where", "init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --where = 'init': expected key.path=value") and "--set" not in err
