"""tw.train is trainwell train from Python; a Run shows as the report's one-row table."""

import pytest
import torch
from matplotlib.figure import Figure

import trainwell as tw
from trainwell.api import build_recipe, overrides_of
from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.loop import load_history
from trainwell.recipe import Recipe

TINY = {"name": "tiny <script>alert(1)</script>", "data": {"name": "digits"},
        "model": {"name": "mlp", "depth": 1, "width": 16}, "train": {"epochs": 2, "threads": 1}}


@pytest.fixture(scope="module")
def trained():
    return tw.train(TINY, optim__lr=0.01, quiet=True)


def test_train_returns_the_run_execute_gives(trained):
    recipe = Recipe.from_dict({**TINY, "optim": {"name": "adam", "lr": 0.01}})
    reference = execute(recipe)
    assert trained.recipe == recipe and trained.status == "done"
    assert trained.metrics == reference.history.final and trained.metrics["test_acc"] > 0.2
    assert trained.history.step_loss == reference.history.step_loss
    assert isinstance(trained.model, torch.nn.Module) and trained.folder is None


def test_run_table_frames_and_plots(trained):
    table = trained.table(formatted=True)
    assert list(table.columns[:3]) == ["recipe", "test acc (%)", "train acc (%)"]
    assert table["test acc (%)"][0] == f"{100 * trained.metrics['test_acc']:.1f}"
    numbers = trained.table()
    assert list(numbers.columns[:5]) == ["recipe", "result", "test acc mean (fraction)",
                                         "test acc std (fraction)", "test acc n"]
    assert numbers["test acc mean (fraction)"][0] == trained.metrics["test_acc"]
    assert numbers["train acc mean (fraction)"][0] == trained.metrics["train_acc"]
    assert numbers["test acc n"][0] == 1 and numbers["result"][0] == "value"
    assert numbers["time/run (s)"][0] == pytest.approx(trained.row.seconds)
    frame = trained.metrics_frame(names=["loss", "val_acc"])
    assert (frame["name"] == "loss").sum() == len(trained.history.step_loss)
    assert list(frame[frame["name"] == "val_acc"]["value"]) == [
        e["val_acc"] for e in trained.history.epochs]
    loss, acc = trained.plot_loss(), trained.plot_accuracy()
    assert isinstance(loss, Figure) and isinstance(acc, Figure)
    line = next(ln for ln in loss.axes[0].get_lines() if ln.get_label() == trained.label)
    assert len(line.get_xdata()) == len(trained.history.step_loss)
    (acc_line,) = [ln for ln in acc.axes[0].get_lines() if ln.get_label() == trained.label]
    assert list(acc_line.get_ydata()) == pytest.approx(
        [100 * e["val_acc"] for e in trained.history.epochs])


def test_run_repr_html_escapes_the_recipe_name(trained):
    html = trained._repr_html_()
    assert "<script>" not in html and "tiny &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"{100 * trained.metrics['test_acc']:.1f}" in html


def test_out_writes_what_trainwell_train_writes(tmp_path):
    run = tw.train(TINY, set={"train.epochs": 1}, out=tmp_path / "py", quiet=True)
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(Recipe.from_dict(TINY).to_toml())
    assert main(["train", str(recipe), "--set", "train.epochs=1", "--out",
                 str(tmp_path / "cli"), "-q"]) == 0
    names = sorted(p.name for p in (tmp_path / "py").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert "weights.safetensors" in names and run.folder == tmp_path / "py"
    assert sorted(p.name for p in run.written) == sorted(
        p.name for p in (tmp_path / "py").iterdir() if p.is_file())
    assert (tmp_path / "py" / "recipe.toml").read_text() == (tmp_path / "cli" / "recipe.toml").read_text()
    assert load_history(tmp_path / "py" / "history.json").final == run.metrics == load_history(
        tmp_path / "cli" / "history.json").final


@pytest.mark.parametrize("keywords", [{"optim__name": "sgd", "optim__lr": 0.05},
                                      {"optim__lr": 0.05, "optim__name": "sgd"}])
def test_a_sections_name_is_set_before_its_options(keywords):
    r = build_recipe(None, overrides_of(None, keywords, "train"))
    assert r.optim.name == "sgd" and r.optim.options["lr"] == 0.05


def test_overrides_take_python_values():
    r = build_recipe(TINY, overrides_of({"model.widths": [32, 16], "data.name": "digits"},
                                        {"train__early_stopping": {"metric": "val_loss",
                                                                   "patience": 2}}, "train"))
    assert r.model.options["widths"] == [32, 16]
    assert r.train.early_stopping is not None and r.train.early_stopping["patience"] == 2


@pytest.mark.parametrize(("args", "kwargs", "key", "needle"), [
    ((), {"optim__lr": -1}, "optim.lr", "optim.lr = -1"),
    ((), {"init__name": "he_norml"}, "init.name", "did you mean 'he_normal'"),
    ((), {"init": "lsuv"}, "init", "init__name= sets init.name"),
    ((), {"optim__lrr": 0.1}, "optim.lrr", "did you mean 'lr'"),
    ((), {"resume": True}, "resume", "an out folder with it"),
    ((42,), {}, "recipe", "a recipe file, a Recipe or a dict"),
    ((), {"set": {"optim.lr": 0.1}, "optim__lr": 0.1}, "optim.lr", "given twice"),
])
def test_bad_input_raises_config_error_and_writes_nothing(args, kwargs, key, needle, tmp_path):
    out = {"out": tmp_path / "o"} if "resume" not in kwargs else {}
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")) as caught:
        tw.train(*args, **kwargs, **out, quiet=True)
    assert caught.value.key == key
    assert not (tmp_path / "o").exists()


def test_missing_recipe_file_is_the_command_lines_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.toml")]) == 2
    printed = capsys.readouterr().err.strip()
    with pytest.raises(tw.TrainwellError) as caught:
        tw.train(tmp_path / "nope.toml")
    assert printed == f"error: {caught.value}" and "does not exist" in printed
