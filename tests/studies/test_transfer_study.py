"""The transfer experiment asks every cell of the lecture's 2 x 2 table: similar and different
target data, little and much of it; a source with a feature layer, a linear probe fitted by
full-batch L-BFGS, and fine-tuning at a tenth of the lr."""

from __future__ import annotations

import tomllib

import torch

from trainwell.build import check_runnable, prepare_data
from trainwell.experiments import experiment_path
from trainwell.sweep import load_sweep


def _recipes():
    return load_sweep(experiment_path("transfer")).recipes()


def test_targets_cover_similar_and_different_data_with_little_and_much_of_it():
    cells = {(r.data.name, r.data.options["labels_per_class"]) for _, _, r in _recipes()}
    assert cells == {("mnist5k", 5), ("mnist5k", 100), ("digits", 5), ("digits", 100)}
    assert {tuple(r.data.options["classes"]) for _, _, r in _recipes()} == {(5, 6, 7, 8, 9)}


def test_the_source_is_wider_has_a_feature_layer_and_never_sees_the_target_classes():
    source = tomllib.loads(experiment_path("transfer").with_name("sources").joinpath(
        "mnist5k-0-4-wide.toml").read_text())
    assert source["model"]["hidden"] > 0 and min(source["model"]["channels"]) >= 32
    assert not set(source["data"]["classes"]) & {5, 6, 7, 8, 9}
    assert {t["name"] for t in source["augment"]["transforms"]} == {"translate", "affine"}
    targets = [r for _, _, r in _recipes()]
    assert {r.model.options["hidden"] for r in targets} == {source["model"]["hidden"]}


def test_the_probe_is_fitted_full_batch_and_fine_tuning_has_a_lower_lr_variant():
    by_label = {}
    for point, _, r in _recipes():
        by_label.setdefault(point["variant"]["label"], r)
    probe = next(r for label, r in by_label.items() if label.startswith("linear classifier"))
    assert probe.optim.name == "lbfgs" and probe.transfer.freeze == "features"
    assert probe.train.batch_size >= 500  # every labelled sample of the largest target
    same = by_label["fine-tune all, same lr"].optim.options["lr"]
    assert by_label["fine-tune all, lr / 10"].optim.options["lr"] == same / 10


def test_every_target_recipe_is_runnable_on_its_data():
    seen = {}
    for _, _, r in _recipes():
        key = (r.data.name, r.data.options["labels_per_class"])
        if key not in seen:
            seen[key] = prepare_data(r, torch.device("cpu"))
        check_runnable(r, seen[key])
