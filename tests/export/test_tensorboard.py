"""trainwell export --to tensorboard, and train.log_to = "tensorboard" while runs train: the events
read back by TensorBoard's own reader hold the store's numbers."""

import json
import sys

import pytest

from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.export.source import read_experiment
from trainwell.export.tensorboard import final_tags
from trainwell.loop.tensorboard import tensorboard_tag
from trainwell.recipe import Recipe

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def scalars(folder) -> dict[str, dict[int, float]]:
    """Each scalar tag's values by step, read by TensorBoard's reader; each step written once."""
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        steps = [e.step for e in acc.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag} written twice at a step"
        out[tag] = {e.step: e.value for e in acc.Scalars(tag)}
    return out


def finite(series: dict[int, float | None]) -> dict[int, float]:
    return {step: value for step, value in series.items() if value is not None}


def assert_same(events: dict[str, dict[int, float]], metrics: dict[str, dict[int, float | None]]):
    expected = {tensorboard_tag(name): finite(series) for name, series in metrics.items()
                if finite(series)}
    assert set(events) == set(expected)
    for name, series in expected.items():
        assert events[name] == pytest.approx(series, rel=1e-6), name  # events keep float32


@pytest.fixture(scope="module")
def exported(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("tb")
    (out / "mine").mkdir()  # someone else's run: an export leaves it alone
    assert main(["export", str(experiment), "--to", "tensorboard", str(out)]) == 0
    return out


def test_one_tensorboard_run_per_run_holds_the_stores_scalars(exported, stored):
    runs, metrics = stored
    folders = {p.name.rsplit("--", 1)[-1]: p for p in exported.iterdir() if "--" in p.name}
    assert set(folders) == {r.id for r in runs}
    for run in runs:
        assert folders[run.id].name.startswith(f"optim.lr={run.point['optim.lr']},seed=0--")
        events = scalars(folders[run.id])
        final = {k.removeprefix("result/"): v for k, v in events.items() if k.startswith("result/")}
        assert_same({k: v for k, v in events.items() if not k.startswith("result/")},
                    metrics[run.id])
        for name, value in run.final.items():  # on its own only where its chart ends elsewhere
            if value is None:
                continue
            chart = events.get(tensorboard_tag(name), {})
            if name in final:
                assert final[name] == {max(chart or final[name]): pytest.approx(value, rel=1e-6)}
                assert not chart or chart[max(chart)] != pytest.approx(value, rel=1e-6), name
            else:
                assert chart[max(chart)] == pytest.approx(value, rel=1e-6), name
        assert "test_acc" not in final and "val_acc" not in final
    done = next(r for r in runs if r.status == "done")
    names = set(metrics[done.id])
    assert {"loss", "step_lr", "lr", "train_loss", "val_acc", "test_acc"} <= names
    assert any(n.startswith("grad_norm/") for n in names)
    assert len(metrics[done.id]["val_acc"]) == 2  # per epoch


def test_the_hparams_tab_shows_the_grid_with_final_metrics(experiment, exported, stored):
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(exported))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(exported))
    backend = backend_context.Context(base_plugin.TBContext(
        logdir=str(exported), multiplexer=mux, data_provider=provider))
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=100, allowed_statuses=list(api_pb2.Status.values()))
    groups = list_session_groups.Handler(context.RequestContext(), backend, "", request).run()
    runs, _ = stored
    tags = final_tags(read_experiment(experiment))
    by_lr = {g.hparams["optim.lr"].number_value: g for g in groups.session_groups}
    assert set(by_lr) == {r.point["optim.lr"] for r in runs}
    for run in runs:
        group = by_lr[run.point["optim.lr"]]
        assert group.hparams["status"].string_value == run.status
        assert group.hparams["optim.name"].string_value == "sgd"
        shown = {m.name.tag: m.value for m in group.metric_values}
        expected = {tags[k]: v for k, v in run.final.items() if v is not None}
        assert shown == pytest.approx(expected)
        assert "init" not in group.hparams or "init.name" not in group.hparams
        status = "STATUS_SUCCESS" if run.status == "done" else "STATUS_FAILURE"
        assert [api_pb2.Status.Name(s.status) for s in group.sessions] == [status]


def test_exporting_again_replaces_each_run_and_leaves_other_folders(experiment, exported):
    before = sorted(p.name for p in exported.iterdir())
    assert main(["export", str(experiment), "--to", "tensorboard", str(exported)]) == 0
    assert sorted(p.name for p in exported.iterdir()) == before
    assert "mine" in before
    for folder in exported.iterdir():
        if folder.name != "mine":
            assert len(list(folder.glob("events.out.tfevents.*"))) == 1


def test_an_export_that_fails_leaves_the_output_as_it_was(experiment, tmp_path, monkeypatch):
    from trainwell.export import tensorboard

    (tmp_path / "keep.txt").write_text("x")
    calls = []

    def fail_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args)

    real = tensorboard._write_run
    monkeypatch.setattr(tensorboard, "_write_run", fail_second)
    with pytest.raises(OSError, match="disk full"):
        tensorboard.export_tensorboard(experiment, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_live_logging_in_a_sweep_writes_the_stores_numbers_as_it_trains(experiment, stored):
    runs, metrics = stored
    for run in runs:
        assert_same(scalars(experiment / run.id / "tensorboard"), metrics[run.id])


def test_trainwell_train_logs_live_into_out(tmp_path):
    out = tmp_path / "one"
    code = main(["train", "--set", "data.name=digits", "--set", "train.epochs=2",
                 "--set", "train.batch_size=256", "--set", "train.record_every=0",
                 "--set", "train.log_to=tensorboard", "--out", str(out), "--quiet"])
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    events = scalars(out / "tensorboard")
    assert events["loss/step"] == pytest.approx(dict(enumerate(history["step_loss"])), rel=1e-6)
    assert events["accuracy/val"] == pytest.approx({e["step"]: e["val_acc"]
                                                    for e in history["epochs"]})
    assert not any(k.startswith("per_layer") for k in events)


def test_log_to_is_omitted_while_off_so_run_ids_stay_as_they_were():
    assert "log_to" not in Recipe.from_dict({}).to_dict()["train"]
    on = Recipe.from_dict({"train": {"log_to": "tensorboard"}})
    assert on.to_dict()["train"]["log_to"] == "tensorboard"
    assert Recipe.from_dict(on.to_dict()) == on


def test_unknown_log_to_names_the_key_and_the_allowed_values():
    with pytest.raises(ConfigError, match=r"train\.log_to = 'tensorbord'.*tensorboard.*did you mean"):
        Recipe.from_dict({"train": {"log_to": "tensorbord"}})


def test_log_to_without_tensorboardx_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    out = tmp_path / "one"
    code = main(["train", "--set", "train.log_to=tensorboard", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "train.log_to" in err and "pip install 'trainwell[tensorboard]'" in err
    assert not out.exists()


def test_log_to_without_out_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--set", "train.log_to=tensorboard"]) == 2
    assert "--out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_export_without_tensorboardx_says_what_to_install(experiment, monkeypatch, tmp_path,
                                                          capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    assert main(["export", str(experiment), "--to", "tensorboard", str(tmp_path / "tb")]) == 2
    assert "pip install 'trainwell[tensorboard]'" in capsys.readouterr().err
    assert not (tmp_path / "tb").exists()


def test_the_first_chart_groups_are_accuracy_and_loss_and_the_per_layer_ones_come_last(exported):
    folder = next(p for p in exported.iterdir() if "--" in p.name)
    groups = sorted({tag.split("/")[0] for tag in scalars(folder)})
    assert groups[:2] == ["accuracy", "loss"]
    per_layer = [i for i, g in enumerate(groups) if g.startswith("per_layer")]
    assert per_layer and min(per_layer) > groups.index("lr")


def test_the_hparams_metrics_put_test_accuracy_first_and_averaged_finals_apart():
    from types import SimpleNamespace

    plain = SimpleNamespace(row=SimpleNamespace(final={"val_acc": 0.5, "test_acc": 0.4}),
                            series={"val_acc": ([10], [0.5]), "test_acc": ([10], [0.4])},
                            last_step=10)
    averaged = SimpleNamespace(row=SimpleNamespace(final={"val_acc": 0.6, "test_acc": 0.45}),
                               series={"val_acc": ([10], [0.5]), "test_acc": ([10], [0.45])},
                               last_step=10)
    assert list(final_tags(SimpleNamespace(runs=[plain]))) == ["test_acc", "val_acc"]
    assert final_tags(SimpleNamespace(runs=[plain, averaged])) == {
        "test_acc": "accuracy/test", "val_acc": "result/val_acc"}
