"""trainwell export --to mlflow into a local SQLite tracking store, read back with MlflowClient."""

import math
import sys
import tomllib

import pytest

from trainwell.cli import main
from trainwell.export.mlflow import RUN_ID_TAG, flatten

pytest.importorskip("sqlalchemy")
tracking = pytest.importorskip("mlflow.tracking")


@pytest.fixture(scope="module")
def store_uri(experiment, tmp_path_factory):
    """A SQLite tracking store with the experiment exported into it once."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    code = main(["export", str(experiment), "--to", "mlflow", uri,
                 "--artifact-root", str(root / "artifacts")])
    assert code == 0
    return uri, root


def mlflow_runs(uri):
    client = tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tiny")
    return client, exp, client.search_runs([exp.experiment_id])


def test_every_run_is_there_with_params_tags_and_metric_histories(store_uri, stored):
    uri, root = store_uri
    runs, metrics = stored
    client, exp, logged = mlflow_runs(uri)
    assert exp.artifact_location == (root / "artifacts").as_uri()
    by_id = {r.data.tags[RUN_ID_TAG]: r for r in logged}
    assert len(logged) == len(runs) and set(by_id) == {r.id for r in runs}
    for run in runs:
        mlrun = by_id[run.id]
        assert mlrun.data.params == {**flatten(run.recipe), "run_id": run.id}
        assert mlrun.data.params["optim.lr"] == str(run.point["optim.lr"])
        assert mlrun.data.tags["status"] == run.status
        assert mlrun.data.tags["optim.lr"] == str(run.point["optim.lr"])
        assert mlrun.info.status == "FINISHED"
        for name, series in metrics[run.id].items():
            history = {m.step: m.value for m in client.get_metric_history(mlrun.info.run_id, name)}
            assert set(history) == set(series), name
            for step, value in series.items():
                if value is None:
                    assert math.isnan(history[step])
                else:
                    assert history[step] == pytest.approx(value, rel=1e-12)
        finals = {k.removeprefix("final/"): v for k, v in mlrun.data.metrics.items()
                  if k.startswith("final/")}
        assert finals == pytest.approx({k: v for k, v in run.final.items() if v is not None})


def test_the_recipe_and_the_report_are_artifacts(store_uri, stored, tmp_path):
    uri, _ = store_uri
    runs, _ = stored
    client, _, logged = mlflow_runs(uri)
    for mlrun in logged:
        assert {a.path for a in client.list_artifacts(mlrun.info.run_id)} == {"recipe.toml",
                                                                               "report.html"}
        path = client.download_artifacts(mlrun.info.run_id, "recipe.toml", str(tmp_path))
        with open(path, "rb") as f:
            recipe = tomllib.load(f)
        assert recipe == next(r.recipe for r in runs if r.id == mlrun.data.tags[RUN_ID_TAG])


def test_exporting_again_skips_runs_exported_whole_and_replaces_the_rest(experiment, store_uri,
                                                                         capsys):
    uri, _ = store_uri
    client, _, logged = mlflow_runs(uri)
    assert main(["export", str(experiment), "--to", "mlflow", uri]) == 0
    assert "0 runs logged, 0 replaced, 2 unchanged" in capsys.readouterr().out
    client.delete_tag(logged[0].info.run_id, "trainwell.exported")  # an export cut short
    assert main(["export", str(experiment), "--to", "mlflow", uri]) == 0
    assert "0 runs logged, 1 replaced, 1 unchanged" in capsys.readouterr().out
    _, _, again = mlflow_runs(uri)
    assert sorted(r.data.tags[RUN_ID_TAG] for r in again) == \
        sorted(r.data.tags[RUN_ID_TAG] for r in logged)


def test_without_mlflow_the_message_says_what_to_install(experiment, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")] + ["mlflow"]:
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["export", str(experiment), "--to", "mlflow", "sqlite:///x/mlflow.db"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'trainwell[mlflow]'" in err and "Traceback" not in err


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///{file}/mlflow.db"])
def test_a_tracking_uri_that_cannot_be_written_is_refused(experiment, tmp_path, capsys, uri):
    (tmp_path / "file").write_text("x")
    uri = uri.format(file=tmp_path / "file")
    assert main(["export", str(experiment), "--to", "mlflow", uri]) == 2
    assert "--to mlflow" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
