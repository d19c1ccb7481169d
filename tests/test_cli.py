import re
import subprocess
import sys

import pytest
import torch

from trainwell.cli import main
from trainwell.execute import build_initialized_model, prepare_data
from trainwell.loop import load_history, load_weights
from trainwell.recipe import load_recipe

FAST = ["--set", "data.name=digits", "--set", "model.depth=1", "--set", "model.width=16",
        "--set", "train.epochs=2", "--set", "train.threads=1"]


def test_list_prints_every_family(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist1d", "mnist5k", "mlp", "cnn", "maxout", "lecture_xavier",
                 "prettytensor_xavier", "nesterov", "adamw"):
        assert name in out


def test_train_writes_recipe_history_and_weights(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "tiny"\n[init]\nname = "glorot_uniform"\n')
    out = tmp_path / "out"
    assert main(["train", str(recipe), *FAST, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "tiny" in printed and "test" in printed and "status: done" in printed
    r = load_recipe(out / "recipe.toml")
    assert r.init.name == "glorot_uniform" and r.train.epochs == 2 and r.data.name == "digits"
    h = load_history(out / "history.json")
    assert h.status == "done" and len(h.epochs) == 2
    ds = prepare_data(r, torch.device("cpu"))
    model = load_weights(build_initialized_model(r, ds, torch.device("cpu")), out / "weights.safetensors")
    from trainwell.loop import evaluate
    _, acc = evaluate(model, ds.x_test, ds.y_test)
    assert acc == pytest.approx(h.final["test_acc"])
    test_row = next(line.split("│") for line in printed.splitlines() if line.startswith("│ test "))
    assert "accuracy (%)" in printed and test_row[3].strip() == f"{100 * h.final['test_acc']:.2f}"


@pytest.mark.parametrize(("argv", "needle"), [
    (["train", "--set", "optim.lr=-1"], "optim.lr = -1"),
    (["train", "--set", "init.name=he_norml"], "did you mean 'he_normal'"),
    (["train", "--set", "train.epochs"], "key.path=value"),
    (["train", "missing.toml"], "does not exist"),
    (["train", "--set", "model.name=nomodule_xyz:make"], "nomodule_xyz"),
    (["frobnicate"], "No such command"),
])
def test_bad_input_exits_2_with_one_message_and_writes_nothing(argv, needle, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()


def test_diverged_run_exits_1_and_says_only_what_it_wrote(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["train", *FAST, "--set", "optim.name=sgd", "--set", "optim.lr=1e7",
                 "--set", "init.name=uniform", "--out", str(out), "-q"])
    assert code == 1
    assert load_history(out / "history.json").status == "diverged"
    printed = capsys.readouterr().out
    assert "recipe.toml" in printed and "history.json" in printed
    assert "weights" not in printed and not (out / "weights.safetensors").exists()


def test_lbfgs_with_minibatches_is_bad_input_for_train(tmp_path, capsys):
    code = main(["train", *FAST, "--set", "optim.name=lbfgs", "--out", str(tmp_path / "o")])
    assert code == 2 and "train.batch_size" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_reading_results_takes_no_lock_and_creates_nothing(tmp_path):
    import sqlite3
    import time

    from trainwell.errors import TrainwellError
    from trainwell.results import open_results
    from trainwell.run.store import RunSpec, Store

    with pytest.raises(TrainwellError, match="results.db not found"):
        open_results(tmp_path)
    assert list(tmp_path.iterdir()) == []
    Store(tmp_path / "results.db").add_runs([RunSpec("a", "e", "a", {}, 0, {})])
    writer = sqlite3.connect(tmp_path / "results.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a sweep in the middle of a write
    t0 = time.monotonic()
    try:
        with open_results(tmp_path) as res:
            assert [r["id"] for r in res.runs()] == [] and res.store.readonly
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                res.store.set_status("a", "done")
    finally:
        writer.execute("ROLLBACK")
    assert time.monotonic() - t0 < 5


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "trainwell", "train", "--set", "optim.lr=0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: optim.lr = 0") and "Traceback" not in proc.stderr


def test_playground_draws_the_chosen_surfaces(tmp_path, capsys):
    out = tmp_path / "pg"
    assert main(["playground", "--surface", "taco,saddle", "--optim", "sgd,momentum,adam",
                 "--steps", "50", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["saddle.html", "saddle.png", "taco.html",
                                                     "taco.png"]
    assert "momentum" in capsys.readouterr().out
    assert main(["playground", "--surface", "tacoo", "--out", str(out)]) == 2


def test_pretrain_saves_rbms_and_prints_per_layer_curves(tmp_path, capsys):
    out = tmp_path / "pt"
    argv = ["pretrain", "--set", "init.name=dbn", "--set", "init.epochs=3", "--set",
            "data.name=digits", "--set", "data.normalize=unit", "--set", "model.widths=[32, 16]",
            "--out", str(out), "-q"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "64→32" in printed and "32→16" in printed
    assert sorted(p.name for p in out.iterdir()) == ["rbm-1.safetensors", "rbm-2.safetensors",
                                                     "recipe.toml", "report.txt",
                                                     "weights.safetensors"]
    from trainwell.pretrain import RBM

    rbm = RBM.load(out / "rbm-2.safetensors")
    assert tuple(rbm.weight.shape) == (16, 32)
    assert main(["pretrain", "--set", "init.name=he_normal", "--out", str(tmp_path / "x")]) == 2
    assert main(["pretrain", "--set", "init.name=lsuv", "--set", "data.name=digits",
                 "--out", str(tmp_path / "l"), "-q"]) == 0
    assert "LSUV" in capsys.readouterr().out and (tmp_path / "l" / "weights.safetensors").is_file()


@pytest.mark.parametrize("init", ["lsuv", "dbn", "autoencoder"])
def test_data_driven_inits_train_from_a_recipe(init, tmp_path):
    out = tmp_path / "o"
    assert main(["train", *FAST, "--set", f"init.name={init}", "--set", "init.epochs=2"
                 if init != "lsuv" else "init.batch_size=64", "--out", str(out), "-q"]) == 0
    h = load_history(out / "history.json")
    assert h.init["name"] == init and h.status == "done"


def test_version_is_the_packages(capsys):
    import tomllib
    from pathlib import Path

    from trainwell import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"trainwell {__version__}"
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "trainwell.__version__"}


def test_list_experiments_names_each_with_its_run_count(capsys):
    from trainwell.experiments import EXPERIMENTS, experiment_path
    from trainwell.sweep import load_sweep

    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    for name in EXPERIMENTS:
        runs = len(load_sweep(experiment_path(name)).recipes())
        assert re.search(rf"│ {name}\s+│\s+{runs} │", out), name
    assert main(["list", "everything"]) == 2
    assert "expected nothing (the catalogue) or experiments" in capsys.readouterr().err


def test_list_names_your_own_data_and_model_factories(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "your data factory" in out and "your model factory" in out
    assert out.count("package.module:function") >= 2
