"""``train.max_steps``: training ends after that many optimizer steps, mid-epoch or not."""

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.loop import fit
from trainwell.loop.callbacks import MaxSteps
from trainwell.recipe import Recipe

pytestmark = pytest.mark.usefixtures("one_thread")


def _fit(steps, epochs=3):
    torch.manual_seed(0)
    ds = load_dataset("digits")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    return fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=epochs,
               batch_size=64, callbacks=[MaxSteps(steps)],
               generator=torch.Generator().manual_seed(0)), -(-len(ds.x_train) // 64)


def test_a_limit_at_an_epochs_end_records_that_epoch_and_stops():
    history, per_epoch = _fit(2 * -(-1294 // 64))
    assert per_epoch == 21
    assert history.status == "done" and len(history.epochs) == 2 and len(history.step_loss) == 42
    assert history.epochs[-1]["val_acc"] is not None and history.final["test_acc"] is not None


def test_a_limit_beyond_the_epochs_changes_nothing():
    limited, _ = _fit(1000)
    plain, _ = _fit(10 ** 9)
    assert limited.status == "done" and limited.stop_reason is None and len(limited.epochs) == 3
    assert limited.step_loss == plain.step_loss


def test_the_first_steps_of_a_limited_run_are_the_full_runs():
    recipe = {"data": {"name": "digits"}, "train": {"epochs": 3, "threads": 1, "record_every": 0}}
    full = execute(Recipe.from_dict(recipe)).history
    cut = execute(Recipe.from_dict({**recipe, "train": {**recipe["train"], "max_steps": 30}})).history
    assert cut.status == "done" and cut.stop_reason == "max_steps: 30 steps"
    assert cut.step_loss == full.step_loss[:30] and len(cut.epochs) == 1


def test_max_steps_is_left_out_of_a_recipe_at_its_default_and_checked():
    assert "max_steps" not in Recipe.from_dict({}).to_dict()["train"]
    with pytest.raises(ConfigError, match="train.max_steps"):
        Recipe.from_dict({"train": {"max_steps": 0}})
