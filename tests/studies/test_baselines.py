"""The MNIST-1D baselines and lab-10 ladder study files expand into the grids their docs pages
describe: run counts, variant labels, and the recipe values the pages name."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from trainwell.data import load_dataset
from trainwell.models import MNIST1D_REFERENCE
from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "studies"
DOCS = ROOT / "docs"


def runs(name: str):
    return load_sweep(STUDIES / name).recipes()


def by_label(recipes):
    out: dict[str, list] = {}
    for point, seed, recipe in recipes:
        out.setdefault(point["variant"]["label"], []).append((seed, recipe))
    return out


def header_commands(name: str) -> list[list[str]]:
    """The commands of a study file's header comment: comment lines (after an optional
    ``Run:``) that start with ``trainwell``, continued over lines that end with a backslash."""
    commands: list[str] = []
    continued = False
    for line in (STUDIES / name).read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[1:].strip().removeprefix("Run:").strip()
        if continued:
            commands[-1] += " " + text
        elif text.startswith("trainwell "):
            commands.append(text)
        continued = text.endswith("\\")
        if continued:
            commands[-1] = commands[-1][:-1]
    return [shlex.split(c) for c in commands]


# MNIST-1D baselines ------------------------------------------------------------------------

MNIST1D = "mnist1d_baselines.toml"
MNIST1D_LABELS = ["logistic regression (linear)", "MLP (2 x 100 relu)",
                  "CNN (3 x 25 channels, kernel 5)", "ConvBase (mnist1d repository)",
                  "GRU (bidirectional, 6 units)"]


def test_mnist1d_baselines_grid():
    sweep = load_sweep(STUDIES / MNIST1D)
    assert sweep.experiment == "mnist1d-baselines"
    recipes = sweep.recipes()
    assert len(recipes) == 15
    groups = by_label(recipes)
    assert list(groups) == MNIST1D_LABELS
    assert all(sorted(seed for seed, _ in g) == [0, 1, 2] for g in groups.values())
    models = [g[0][1].model for g in groups.values()]
    assert [m.name for m in models] == ["linear", "mlp", "cnn", "convbase", "gru"]
    assert models[3].options == {"channels": 25}
    assert models[4].options == {"hidden_size": 6, "bidirectional": True, "layers": 1}
    assert models[0].options == {}
    assert (models[1].options["depth"], models[1].options["width"], models[1].options.get("widths"),
            models[1].options["activation"]) == (2, 100, None, "relu")
    assert (models[2].options["channels"], models[2].options["kernel_size"],
            models[2].options["pool"], models[2].options["activation"]) == ([25, 25, 25], 5, "max",
                                                                              "relu")


def test_mnist1d_baselines_share_the_repositorys_training_recipe():
    ref = MNIST1D_REFERENCE
    for _, _, recipe in runs(MNIST1D):
        assert recipe.data.name == "mnist1d"
        assert recipe.data.options["num_samples"] == 5000
        assert recipe.data.options["val_fraction"] == 0.0
        assert recipe.data.options["labels_fraction"] == 1.0
        assert recipe.init.name == "torch_default"
        assert (recipe.optim.name, recipe.optim.options["lr"]) == (ref["optimizer"], ref["lr"])
        assert recipe.optim.options["weight_decay"] == ref["weight_decay"]
        assert recipe.schedule.name == "constant"
        assert recipe.train.batch_size == ref["batch_size"]
        assert recipe.train.epochs * (4000 // recipe.train.batch_size) == ref["steps"]
        assert ref["batches"] == "in order" and recipe.train.shuffle is False


def test_mnist1d_baselines_train_on_the_standard_4000_and_test_on_1000():
    _, _, recipe = runs(MNIST1D)[0]
    ds = load_dataset(recipe.data.name, **recipe.data.options)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (4000, 0, 1000)
    assert ds.y_train.unique().tolist() == list(range(10))


# Lab 10 ladder -----------------------------------------------------------------------------

LAB10 = "lab10_ladder.toml"
LAB10_LABELS = ["softmax, N(0, 1) init", "NN 2 x 256, N(0, 1) init", "NN 2 x 256, Xavier init",
                "NN 4 x 512, Xavier init", "NN 4 x 512, Xavier init, dropout 0.3"]


def test_lab10_ladder_grid():
    sweep = load_sweep(STUDIES / LAB10)
    assert sweep.experiment == "lab10-ladder"
    recipes = sweep.recipes()
    assert len(recipes) == 15
    groups = by_label(recipes)
    assert list(groups) == LAB10_LABELS
    assert all(sorted(seed for seed, _ in g) == [0, 1, 2] for g in groups.values())
    first = [g[0][1] for g in groups.values()]
    assert [r.model.name for r in first] == ["linear", "mlp", "mlp", "mlp", "mlp"]
    assert [r.model.options.get("widths") for r in first] == [None, [256, 256], [256, 256],
                                                              [512] * 4, [512] * 4]
    assert [r.model.options.get("dropout") for r in first] == [None, 0.0, 0.0, 0.0, 0.3]
    assert [r.init.name for r in first] == ["normal", "normal"] + ["glorot_uniform"] * 3
    assert [r.init.options.get("std") for r in first[:2]] == [1.0, 1.0]
    assert first[2].init.options == first[3].init.options == first[4].init.options == {"gain": 1.0}
    # depth and dropout change one at a time: the two deep rungs differ in dropout alone
    deep, dropped = first[3].to_dict(), first[4].to_dict()
    deep["model"]["dropout"] = 0.3
    assert {k: v for k, v in deep.items() if k != "note"} == {
        k: v for k, v in dropped.items() if k != "note"}


def test_lab10_ladder_shares_the_labs_training_recipe():
    for _, _, recipe in runs(LAB10):
        assert recipe.data.name == "mnist5k"
        assert recipe.data.options["val_fraction"] == 0.0
        assert recipe.data.options["normalize"] == "unit"
        assert (recipe.optim.name, recipe.optim.options["lr"]) == ("adam", 0.001)
        assert recipe.train.batch_size == 100
        assert abs(recipe.train.epochs * 4000 // 100 - 8250) < 40  # the lab's 8,250 Adam steps
        if recipe.model.name == "mlp":
            assert recipe.model.options["activation"] == "relu"


def test_lab10_ladder_full_mnist_command_keeps_the_recipe(tmp_path):
    commands = [c for c in header_commands(LAB10) if "data.name=mnist" in c]
    assert len(commands) == 1
    args = commands[0]
    overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    overrides = [re.sub(r"^data\.path=.*", f"data.path={tmp_path}", o) for o in overrides]
    recipes = load_sweep(STUDIES / LAB10).with_overrides(overrides).recipes()
    assert len(recipes) == 15
    for _, _, recipe in recipes:
        assert recipe.data.name == "mnist"
        assert recipe.data.options["path"] == str(tmp_path)
        assert recipe.data.options["val_fraction"] == 0.0
        assert recipe.data.options["normalize"] == "unit"
        assert recipe.train.epochs == 15


# Both --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, experiment, page", [
    (MNIST1D, "mnist1d-baselines", "mnist1d-baselines.md"),
    (LAB10, "lab10-ladder", "lab10-ladder.md"),
])
def test_header_commands_and_docs_page_name_the_experiment(name, experiment, page):
    commands = header_commands(name)
    assert ["trainwell", "compare", f"studies/{name}", "--root", "runs"] in commands
    assert ["trainwell", "report", f"runs/{experiment}", "--figures", "docs"] in commands
    text = (DOCS / page).read_text()
    assert f"<!-- results: {experiment} -->" in text and "<!-- /results -->" in text
    assert f"trainwell compare studies/{name} --root runs" in text
