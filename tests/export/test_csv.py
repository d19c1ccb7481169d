"""trainwell export --to csv, read back with pandas; and the export command's bad input."""

import math

import pytest

from trainwell.cli import main

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def tables(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("csv") / "out"
    assert main(["export", str(experiment), "--to", "csv", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "runs.csv"]
    return pd.read_csv(out / "runs.csv"), pd.read_csv(out / "metrics.csv")


def test_the_runs_table_has_one_row_per_run(tables, stored):
    runs_csv, _ = tables
    runs, _ = stored
    assert list(runs_csv["id"]) == [r.id for r in runs]
    for run, row in zip(runs, runs_csv.to_dict("records"), strict=True):
        assert row["status"] == run.status
        assert row["optim.lr"] == run.point["optim.lr"]
        assert row["seconds"] == pytest.approx(run.seconds, rel=1e-12)
        for name in ("train_acc", "test_acc", "test_loss"):
            value = run.final.get(name)
            assert math.isnan(row[name]) if value is None else row[name] == value


def test_the_metrics_table_holds_every_stored_number(tables, stored):
    _, metrics_csv = tables
    runs, metrics = stored
    assert list(metrics_csv.columns) == ["run", "name", "step", "epoch", "value"]
    read: dict = {}
    for row in metrics_csv.to_dict("records"):
        read.setdefault(row["run"], {}).setdefault(row["name"], {})[row["step"]] = row["value"]
    assert set(read) == set(metrics)
    for rid, series in metrics.items():
        assert set(read[rid]) == set(series)
        for name, values in series.items():
            expected = {s: math.nan if v is None else v for s, v in values.items()}
            assert read[rid][name] == pytest.approx(expected, rel=1e-15, nan_ok=True), name
    done = next(r.id for r in runs if r.status == "done")
    mine = metrics_csv[metrics_csv["run"] == done]
    assert list(mine[mine["name"] == "val_acc"]["epoch"]) == [1, 2]
    assert mine[mine["name"] == "loss"]["epoch"].isna().all()


def test_a_missing_folder_is_one_message_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "nowhere"), "--to", "csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "results.db" in err and "Traceback" not in err
    assert not out.exists()


def test_an_unknown_target_names_the_option_and_the_choices(experiment, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(experiment), "--to", "tensorbord", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--to = 'tensorbord'" in err and "csv, mlflow, tensorboard" in err
    assert "did you mean 'tensorboard'" in err
    assert not out.exists()


@pytest.mark.parametrize("target", ["csv", "tensorboard"])
def test_an_output_that_cannot_be_written_names_the_option_and_the_path(experiment, tmp_path,
                                                                       capsys, target):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "out"):
        assert main(["export", str(experiment), "--to", target, str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--to {target} = {str(out)!r}" in err and "a folder" in err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert (tmp_path / "file").read_text() == "x"


def test_artifact_root_is_only_for_mlflow(experiment, tmp_path, capsys):
    assert main(["export", str(experiment), "--to", "csv", str(tmp_path / "out"),
                 "--artifact-root", str(tmp_path / "a")]) == 2
    assert "--artifact-root" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
