"""Run ids stay what they were: a finished run is found again by its id, so a change in how a
recipe is resolved or written must not move them. The ids below were recorded from these
recipes; a new option must be left out of a recipe's dict at its default."""

import pytest

from trainwell.recipe import Recipe
from trainwell.sweep import Sweep, run_id

SOURCE = {"data": {"name": "digits"}, "model": {"depth": 2, "width": 32},
          "train": {"epochs": 2}}

RECIPES = {
    "defaults": ({}, "69a8b9d71b37"),
    "digits": ({"data": {"name": "digits"}, "train": {"epochs": 3}}, "71b48d8e64a6"),
    "regularize": ({"regularize": {"l2": 1e-4, "l1": 1e-5}}, "7159a0f7fe0d"),
    "augment": ({"augment": {"transforms": [{"name": "shift", "max_shift": 4},
                                            {"name": "noise", "std": 0.05}],
                             "test_views": 3}}, "7dfa968bd53c"),
    "snapshots": ({"ensemble": {"snapshots": 3, "use_last": 2}}, "cf2f506f3f11"),
    "average": ({"average": {"kind": "swa", "start": 5}}, "baf0f845ed4f"),
    "ema": ({"average": {"kind": "ema", "decay": 0.99}}, "178b4b0493d0"),
    "transfer": ({"data": {"name": "digits"},
                  "transfer": {"from": SOURCE, "freeze": "features", "unfreeze_at": [2]}},
                 "84032a0b03f4"),
    "transfer_from_disk": ({"transfer": {"from": "/runs/src/0123456789ab", "freeze": 1,
                                         "digest": "0123456789abcdef"}}, "3be57b66ca24"),
    "checkpoint_every": ({"train": {"checkpoint_every": 2}}, "516f76632c75"),
    "log_to": ({"train": {"log_to": "tensorboard"}}, "43bae9796beb"),
    "early_stopping": ({"train": {"early_stopping": {"patience": 3}}}, "2797b6e4b01f"),
}

GRID = {"init": {"name": ["zeros", "he_normal"]}, "optim": {"lr": [0.1, 0.01]},
        "sweep": {"seeds": 2}}
GRID_IDS = ["1b10b141dc32", "8fdadf10c877", "d2b92c446b4f", "37f275d6f5e1", "4ab9c1fe6d17",
            "4950a2e8aff4", "f9183821214a", "c9a38d6bd2bc"]


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_recipe_keeps_its_run_id(name):
    raw, expected = RECIPES[name]
    assert run_id(Recipe.from_dict(raw).to_dict()) == expected


def test_a_grid_keeps_its_run_ids():
    ids = [run_id(r.to_dict()) for _, _, r in Sweep.from_dict(GRID, experiment="g").recipes()]
    assert ids == GRID_IDS


def test_the_transfer_source_recipe_keeps_its_run_id():
    target = Recipe.from_dict(RECIPES["transfer"][0])
    assert isinstance(target.transfer.source, dict)
    assert run_id(target.transfer.source) == run_id(Recipe.from_dict(SOURCE).to_dict())
