"""Regularization from a recipe: the [regularize] and [augment] tables, early stopping,
test-time augmentation, variants in a sweep, and the generalization gap in the tables."""

import pytest
import torch

from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.recipe import Recipe
from trainwell.regularize import EarlyStopping, Penalty
from trainwell.report.table import results_grid
from trainwell.run.store import RunRow
from trainwell.sweep import Sweep, format_point

BASE = {"data": {"name": "mnist1d", "num_samples": 600},
        "model": {"name": "cnn", "channels": [8, 8]}, "train": {"epochs": 2, "threads": 1}}


def recipe(**sections):
    raw = {**BASE, **sections}
    if "train" in sections:
        raw["train"] = {**BASE["train"], **sections["train"]}
    return Recipe.from_dict(raw)


def test_the_new_tables_round_trip_with_their_defaults():
    r = recipe(regularize={"l2": 1e-3}, augment={"transforms": [{"name": "shift"}], "test_views": 3},
               train={"early_stopping": {"patience": 2}})
    assert Recipe.from_dict(r.to_dict()) == r
    assert r.augment.transforms == [{"name": "shift", "max_shift": 8, "circular": True}]
    assert r.train.early_stopping == {"metric": "val_loss", "patience": 2, "mode": "min",
                                      "min_delta": 0.0}
    assert Recipe.from_dict({}).to_dict()["regularize"] == {"l1": 0.0, "l2": 0.0,
                                                            "include_bias": False}


@pytest.mark.parametrize(("sections", "key"), [
    ({"regularize": {"l2": -1.0}}, "regularize.l2"),
    ({"regularize": {"l3": 1.0}}, "regularize.l3"),
    ({"augment": {"transforms": [{"name": "flipp"}]}}, "augment.transforms"),
    ({"augment": {"transforms": [{"name": "shift", "max_shift": -1}]}}, "augment.shift.max_shift"),
    ({"augment": {"test_views": 0}}, "augment.test_views"),
    ({"train": {"early_stopping": {"patience": 0}}}, "train.early_stopping.patience"),
    ({"train": {"eval_every": 0, "early_stopping": {}}}, "train.early_stopping.metric"),
])
def test_bad_options_name_their_key(sections, key):
    with pytest.raises(ConfigError) as err:
        recipe(**sections)
    assert err.value.key == key


def test_an_image_transform_on_signals_fails_the_run_with_its_reason():
    out = execute(recipe(augment={"transforms": [{"name": "hflip"}]}))
    assert out.status == "failed" and "hflip" in out.history.error
    assert out.history.phase == "prepare"


def test_the_recipe_turns_into_its_callbacks():
    from trainwell.data.augment import Augment
    from trainwell.execute import build_model_for, prepare_data
    from trainwell.sections import section_callbacks

    def kinds(r):
        data = prepare_data(r, torch.device("cpu"))
        model = build_model_for(r, data, torch.device("cpu"))
        return {type(cb) for cb in section_callbacks(r, model, data)}

    r = recipe(regularize={"l1": 1e-4}, augment={"transforms": [{"name": "noise"}]},
               train={"early_stopping": {"metric": "val_acc", "patience": 3}, "record_every": 0})
    assert kinds(r) == {Penalty, Augment, EarlyStopping}
    assert kinds(recipe(train={"record_every": 0})) == set()


def test_penalty_and_augmentation_change_training_and_stay_reproducible():
    plain = execute(recipe())
    l2 = execute(recipe(regularize={"l2": 0.05}))
    aug = execute(recipe(augment={"transforms": [{"name": "shift"}, {"name": "noise"}]}))
    again = execute(recipe(augment={"transforms": [{"name": "shift"}, {"name": "noise"}]}))
    norm = {n: sum(v.pow(2).sum() for k, v in o.weights.items() if k.endswith("weight"))
            for n, o in (("plain", plain), ("l2", l2))}
    assert norm["l2"] < norm["plain"]
    assert aug.history.step_loss != plain.history.step_loss
    assert aug.history.step_loss == again.history.step_loss


def test_test_views_replace_the_test_metrics_and_keep_the_single_view_ones():
    out = execute(recipe(augment={"test_views": 4}))
    final = out.history.final
    assert {"test_acc", "test_acc_single", "test_loss_single"} <= set(final)
    assert final["test_acc"] != final["test_acc_single"] or final["test_loss"] != final["test_loss_single"]


def test_early_stopping_in_a_recipe_restores_the_best_epoch():
    out = execute(recipe(optim={"name": "sgd", "lr": 2.0}, train={"epochs": 8, "early_stopping":
                                                                   {"metric": "val_loss", "patience": 1}}))
    info = out.history.early_stopping
    best = min((e["val_loss"], e["epoch"]) for e in out.history.epochs if e.get("val_loss") is not None)
    assert info["best_epoch"] == best[1]
    assert out.history.final["val_loss"] == pytest.approx(best[0], rel=1e-5)


def test_variants_are_one_axis_of_named_recipes():
    s = Sweep.from_dict({**BASE, "sweep": {"variants": [
        {"label": "none"}, {"label": "L2", "regularize": {"l2": 1e-4}},
        {"label": "other model", "model": {"name": "mlp", "depth": 1}}]}}, experiment="v")
    runs = s.recipes()
    assert [format_point(p) for p, _, _ in runs] == ["none", "L2", "other model"]
    assert [r.regularize.l2 for _, _, r in runs] == [0.0, 1e-4, 0.0]
    assert runs[1][2].model.options["channels"] == [8, 8] and runs[2][2].model.name == "mlp"
    with pytest.raises(ConfigError, match="label"):
        Sweep.from_dict({"sweep": {"variants": [{"label": "a"}, {"label": "a"}]}}, experiment="v")
    with pytest.raises(ConfigError, match="sweep.variants.modle"):
        Sweep.from_dict({"sweep": {"variants": [{"label": "a", "modle": {}}]}}, experiment="v")


def _row(label, seed, train, test):
    return RunRow(id=f"{label}{seed}", experiment="e", label=label, point={"variant": {"label": label}},
                  seed=seed, recipe={}, status="done", error=None, attempts=1, started=0.0,
                  finished=1.0, seconds=1.0,
                  final={"train_acc": train, "test_acc": test}, diverged_step=None,
                  stop_reason=None, verdicts=None)


def test_the_gap_is_train_minus_test_per_seed():
    grid = results_grid([_row("a", 0, 0.9, 0.7), _row("a", 1, 1.0, 0.7)], ["variant"])
    cell = grid.cells[0]
    assert cell.text("gap") == "25.0 ± 7.1"
    assert cell.values == ["a"]


def test_too_many_test_views_is_bad_input_before_training():
    from trainwell.execute import check_runnable, prepare_data

    r = recipe(augment={"test_views": 500})
    with pytest.raises(ConfigError) as err:
        check_runnable(r, prepare_data(r, torch.device("cpu")))
    assert err.value.key == "augment.test_views"
    out = execute(r)
    assert out.status == "failed" and out.history.phase == "prepare"
