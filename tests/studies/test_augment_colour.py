"""The built-in augment_colour experiment expands into the variants its header describes, and
each of its recipes passes the checks a run makes on colour_mnist before training."""

from __future__ import annotations

import torch

from trainwell.build import check_runnable, flip_at_test, prepare_data
from trainwell.experiments import EXPERIMENTS, experiment_path
from trainwell.sweep import load_sweep

LABELS = ["none", "horizontal flips", "random crops and scales", "colour jitter", "fancy PCA",
          "crops, colour jitter, fancy PCA", "crops, colour jitter, fancy PCA; 5-crop test"]


def _recipes():
    return load_sweep(experiment_path("augment_colour")).recipes()


def test_the_experiment_has_each_transform_alone_then_combined_with_three_seeds():
    assert "augment_colour" in EXPERIMENTS
    recipes = _recipes()
    labels = [p["variant"]["label"] for p, _, _ in recipes]
    assert [labels[i] for i in range(0, len(labels), 3)] == LABELS
    assert len(recipes) == 3 * len(LABELS)
    named = {p["variant"]["label"]: r for p, _, r in recipes}
    combined = named["crops, colour jitter, fancy PCA; 5-crop test"]
    assert [t["name"] for t in combined.augment.transforms] == [
        "resized_crop", "colour_jitter", "fancy_pca"]
    assert combined.augment.test_crop == 0.875 and not flip_at_test(combined)
    assert named["none"].augment.transforms == [] and named["none"].augment.test_crop is None
    assert {r.data.name for _, _, r in recipes} == {"colour_mnist"}


def test_every_recipe_of_the_experiment_is_runnable_on_its_data():
    recipes = _recipes()
    dataset = prepare_data(recipes[0][2], torch.device("cpu"))
    assert dataset.meta.input_shape == (3, 28, 28) and len(dataset.x_train) <= 1000
    for _, _, recipe in recipes:
        check_runnable(recipe, dataset)


def test_its_docs_page_names_the_commands_and_holds_the_results_markers():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "augmentation.md").read_text()
    assert "trainwell compare augment_colour --root runs" in text
    assert "trainwell report runs/augment-colour --figures docs" in text
    assert "<!-- results: augment-colour -->" in text and "<!-- /results -->" in text
    makefile = (root / "Makefile").read_text()
    assert "trainwell compare augment_colour" in makefile and " augment-colour " in makefile
