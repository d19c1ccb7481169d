"""The deep-ReLU and LSUV-table study files expand into the grids their docs pages describe:
run counts, axis values, and the recipe values the pages name."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "studies"
DOCS = ROOT / "docs"


def axes(sweep) -> dict[str, tuple]:
    return {a.key: a.values for a in sweep.axes}


def test_deep_relu_grid_is_init_by_depth_by_optimizer_with_two_seeds():
    sweep = load_sweep(STUDIES / "deep_relu.toml")
    assert sweep.experiment == "deep_relu" and sweep.seeds == 2
    grid = axes(sweep)
    assert [v["name"] for v in grid["init"]] == ["glorot_normal", "lecture_xavier", "he_normal"]
    assert grid["model.depth"] == (22, 30)
    assert [(v["name"], v["lr"]) for v in grid["optim"]] == [("momentum", 0.005), ("adam", 0.001)]
    recipes = sweep.recipes()
    assert len(recipes) == 3 * 2 * 2 * 2
    for _, _, recipe in recipes:
        model = recipe.to_dict()["model"]
        assert (model["name"], model["width"], model["activation"]) == ("mlp", 64, "relu")
        assert model["batch_norm"] is False and model["dropout"] == 0.0  # a plain network
        assert recipe.data.name == "mnist5k"
        assert recipe.train.epochs == 20 and recipe.train.record_every > 0
    assert {r.model.options["depth"] for _, _, r in recipes} == {22, 30}
    assert {r.optim.options.get("momentum") for _, _, r in recipes if r.optim.name == "momentum"} == {0.9}


LSUV_ROWS = [("LSUV", "lsuv"), ("OrthoNorm", "orthogonal"),
             ("OrthoNorm-MSRA scaled", "orthogonal_msra"), ("Xavier", "glorot_normal"),
             ("MSRA (Caffe's msra filler)", "lecture_he"),
             ("He, gain of the activation (not in the paper)", "he_normal")]


def test_lsuv_table_grid_is_the_papers_five_inits_then_ours_by_five_activations():
    sweep = load_sweep(STUDIES / "lsuv_table.toml")
    assert sweep.experiment == "lsuv_table" and sweep.seeds == 3
    grid = axes(sweep)
    assert [(v["label"], v["init"]["name"]) for v in grid["variant"]] == LSUV_ROWS
    assert grid["variant"][1]["init"]["nonlinearity"] == "linear"  # the paper's OrthoNorm
    assert grid["model.activation"] == ("maxout", "relu", "leaky_relu", "tanh", "sigmoid")
    for _, _, recipe in sweep.recipes():
        label = dict((name, label) for label, name in LSUV_ROWS)[recipe.init.name]
        assert ("not in the paper" in label) == (recipe.init.name == "he_normal")
    recipes = sweep.recipes()
    assert len(recipes) == 6 * 5 * 3
    for _, _, recipe in recipes:
        model = recipe.model.options
        assert recipe.model.name == "cnn"
        assert model["channels"] == [16] * 9 and model["kernel_size"] == 3
        assert model["pool_after"] == [3, 6, 9] and model["negative_slope"] == 0.3
        assert model["batch_norm"] is False
        assert (recipe.optim.name, recipe.optim.options["lr"]) == ("momentum", 0.01)
        assert recipe.data.name == "mnist1d" and recipe.train.epochs == 15


@pytest.mark.parametrize("study,page", [("deep_relu", "deep-relu.md"),
                                        ("lsuv_table", "lsuv-table.md")])
def test_each_page_names_its_commands_and_holds_the_results_markers(study, page):
    text = (DOCS / page).read_text()
    assert f"trainwell compare studies/{study}.toml --root runs" in text
    assert f"trainwell report runs/{study} --figures docs" in text
    assert f"<!-- results: {study} -->" in text and "<!-- /results -->" in text
    header = (STUDIES / f"{study}.toml").read_text()
    assert f"trainwell compare studies/{study}.toml --root runs" in header
    assert f"trainwell report runs/{study} --figures docs" in header
