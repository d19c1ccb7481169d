"""Recipe values refused when the recipe is read: infinite numbers, early stopping on a metric
no run records (or on the test set); and transforms given by their name alone accepted."""

import math

import pytest

from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.recipe import Recipe

INFINITE = {
    "regularize.l1": lambda v: {"regularize": {"l1": v}},
    "regularize.l2": lambda v: {"regularize": {"l2": v}},
    "augment.noise.std": lambda v: {"augment": {"transforms": [{"name": "noise", "std": v}]}},
    "augment.jitter.brightness": lambda v: {"data": {"name": "digits"}, "augment": {
        "transforms": [{"name": "jitter", "brightness": v}]}},
    "augment.shear.scale": lambda v: {"augment": {"transforms": [{"name": "shear", "scale": v}]}},
    "average.swa_lr": lambda v: {"average": {"kind": "swa", "swa_lr": v}},
    "optim.lr": lambda v: {"optim": {"name": "sgd", "lr": v}},
    "train.early_stopping.min_delta": lambda v: {"train": {"early_stopping": {"min_delta": v}}},
    "init.bias": lambda v: {"init": {"bias": v}},
}


@pytest.mark.parametrize("value", [math.inf, -math.inf], ids=["+inf", "-inf"])
@pytest.mark.parametrize("key", list(INFINITE))
def test_no_float_option_takes_an_infinity(key, value):
    with pytest.raises(ConfigError) as err:
        Recipe.from_dict(INFINITE[key](value))
    assert err.value.key == key and "finite" in str(err.value)


@pytest.mark.parametrize("metric, allowed", [
    ("test_acc", "select on the test set"), ("test_loss", "select on the test set"),
    ("val_accuracy", "did you mean 'val_acc'"), ("lr", "per-epoch metrics a run records")])
def test_early_stopping_on_a_metric_no_run_records_or_on_the_test_set_is_refused(
        tmp_path, capsys, metric, allowed):
    with pytest.raises(ConfigError, match=allowed) as err:
        Recipe.from_dict({"train": {"early_stopping": {"metric": metric}}})
    assert err.value.key == "train.early_stopping.metric"
    out = tmp_path / "out"
    code = main(["train", "--set", f'train.early_stopping={{metric = "{metric}"}}', "--out", str(out)])
    err_text = capsys.readouterr().err
    assert code == 2 and err_text.startswith("error: train.early_stopping.metric = ")
    assert not out.exists()


@pytest.mark.parametrize("metric", ["val_loss", "val_acc", "train_loss", "train_acc"])
def test_early_stopping_on_a_recorded_metric_is_accepted(metric):
    r = Recipe.from_dict({"train": {"early_stopping": {"metric": metric}}})
    assert r.train.early_stopping["metric"] == metric


def test_a_transform_given_by_its_name_takes_its_defaults():
    by_name = Recipe.from_dict({"augment": {"transforms": ["shift", "noise"]}})
    as_tables = Recipe.from_dict({"augment": {"transforms": [{"name": "shift"}, {"name": "noise"}]}})
    assert by_name == as_tables and by_name.to_dict() == as_tables.to_dict()
    assert by_name.augment.transforms[0]["name"] == "shift" and len(by_name.augment.transforms[0]) > 1
    with pytest.raises(ConfigError, match="augment.transforms = 'shfit'"):
        Recipe.from_dict({"augment": {"transforms": ["shfit"]}})
