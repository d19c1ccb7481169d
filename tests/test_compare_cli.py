import pytest

from trainwell.cli import main
from trainwell.results import open_results

SWEEP = """
note = "tiny grid"
[data]
name = "digits"
[model]
name = "mlp"
depth = 2
width = 16
activation = ["sigmoid", "relu", "tanh"]
[init]
name = "he_normal"
[train]
epochs = 2
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    (root / "tiny.toml").write_text(SWEEP)
    code = main(["compare", str(root / "tiny.toml"), "--init", "zeros,he_normal",
                 "--activation", "relu,tanh", "--seeds", "2", "--set", "optim.lr=0.01",
                 "--root", str(root / "runs"), "--workers", "2", "--quiet"])
    return code, root / "runs" / "tiny"


def test_compare_runs_the_narrowed_grid_and_writes_the_report(compared, capsys):
    code, folder = compared
    assert code == 0
    assert (folder / "report.html").is_file()
    with open_results(folder) as res:
        runs = res.runs("tiny")
        assert len(runs) == 2 * 2 * 2
        assert {r["model.activation"] for r in runs} == {"relu", "tanh"}
        assert {r["init.name"] for r in runs} == {"zeros", "he_normal"}
        assert all(r["status"] == "done" for r in runs)


def test_results_api_filters_by_axis_and_recipe_values(compared):
    _, folder = compared
    with open_results(folder) as res:
        zeros = res.runs(where={"init.name": "zeros"})
        assert len(zeros) == 4 and all(r["init.name"] == "zeros" for r in zeros)
        both = res.runs(where={"init.name": "he_normal", "model.activation": "relu"})
        assert len(both) == 2 and {r["seed"] for r in both} == {0, 1}
        assert res.runs(where={"optim.lr": 0.01}) == res.runs()
        assert res.runs(where={"optim.lr": 0.5}) == []
        frame = res.runs_frame("tiny")
        assert len(frame) == 8 and "test_acc" in frame.columns
        metrics = res.metrics_frame(runs=[both[0]["id"]], names=["loss", "val_acc"])
        assert set(metrics["name"]) == {"loss", "val_acc"}
        assert (metrics[metrics["name"] == "val_acc"]["step"].diff().dropna() > 0).all()


def test_report_command_and_figures(compared, tmp_path, capsys):
    _, folder = compared
    assert main(["report", str(folder), "--figures", str(tmp_path / "docs")]) == 0
    out = capsys.readouterr().out
    assert "zeros" in out and "he_normal" in out
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == [
        "tiny-ensembles.png", "tiny-loss.png", "tiny-table.md", "tiny-val-acc.png"]
    table = (tmp_path / "docs" / "tiny-table.md").read_text()
    assert table.count("\n") == 4 and "init.name \\ model.activation" in table


def test_rerunning_compare_skips_finished_runs(compared, capsys):
    _, folder = compared
    code = main(["compare", str(folder.parent.parent / "tiny.toml"), "--init", "zeros,he_normal",
                 "--activation", "relu,tanh", "--seeds", "2", "--set", "optim.lr=0.01",
                 "--root", str(folder.parent), "--quiet"])
    assert code == 0
    assert "8 already finished, 0 run now" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "needle"), [
    (["--init", "zeros,he_nrmal"], "did you mean 'he_normal'"),
    (["--lr", "0.1,-3"], "optim.lr = -3"),
    (["--axis", "optim.lr"], "key.path=v1,v2"),
    (["--axis", "bogus.key=1,2"], "bogus.key"),
    (["--seeds", "0"], "sweep.seeds = 0"),
    (["--workers", "0"], "--workers = 0"),
    (["no_such_sweep.toml"], "does not exist"),
])
def test_bad_compare_input_exits_2_and_writes_nothing(argv, needle, tmp_path, capsys):
    assert main(["compare", *argv, "--root", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_report_of_a_folder_without_results_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "results.db" in capsys.readouterr().err


def test_name_overrides_the_sweeps_experiment(tmp_path):
    assert main(["compare", "init", "--name", "mine", "--init", "he_normal,lsuv",
                 "--activation", "relu", "--seeds", "1", "--set", "train.epochs=1",
                 "--set", "data.num_samples=1000", "--root", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "mine" / "report.html").is_file() and not (tmp_path / "init").exists()
