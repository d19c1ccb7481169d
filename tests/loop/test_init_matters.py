"""The lecture's claim, on mnist1d: a deep ReLU net trains with He init and not with naive init."""

import pytest

from trainwell.execute import execute
from trainwell.recipe import Recipe

CHANCE = 0.1


def deep_mlp(init: dict, activation: str, seed: int) -> Recipe:
    return Recipe.from_dict({
        "data": {"name": "mnist1d", "num_samples": 4000},
        "model": {"name": "mlp", "depth": 6, "width": 64, "activation": activation},
        "init": init, "optim": {"name": "sgd", "lr": 0.05},
        "train": {"epochs": 20, "seed": seed, "threads": 2, "eval_every": 0}})


@pytest.mark.parametrize("seed", [0, 1])
def test_deep_relu_trains_with_he_normal(seed):
    h = execute(deep_mlp({"name": "he_normal"}, "relu", seed)).history
    assert h.status == "done"
    assert h.final["train_acc"] > 0.5 and h.final["test_acc"] > 3 * CHANCE


@pytest.mark.parametrize("seed", [0, 1])
def test_deep_relu_fails_with_uniform_minus_one_one(seed):
    h = execute(deep_mlp({"name": "uniform", "a": -1.0, "b": 1.0}, "relu", seed)).history
    assert h.status == "diverged" or h.final["test_acc"] < 2 * CHANCE
    assert h.step_loss[0] > 100, "activations should explode through six uniform(-1, 1) layers"


@pytest.mark.parametrize("seed", [0, 1])
def test_sigmoid_stack_with_small_naive_init_stays_at_chance(seed):
    h = execute(deep_mlp({"name": "normal", "std": 0.01}, "sigmoid", seed)).history
    assert h.status == "done" and h.final["test_acc"] < 1.5 * CHANCE
