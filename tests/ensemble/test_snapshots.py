"""Snapshot ensembles: the cyclic cosine schedule, the snapshots, and their stored ensemble."""

import math

import pytest
import torch

from trainwell.ensemble import load_predictions, score, snapshot_steps
from trainwell.ensemble.evaluate import accuracy
from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.loop import save_run
from trainwell.optim.schedules import cyclic_cosine, make_schedule
from trainwell.recipe import Recipe

BASE = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 32},
        "optim": {"name": "sgd", "lr": 0.2}, "train": {"epochs": 6, "batch_size": 128,
                                                       "threads": 1, "record_every": 0}}


def test_the_schedule_is_huang_et_al_eq_2():
    T, M, a0 = 100, 4, 0.2
    lr = make_schedule("cyclic_cosine", base_lr=a0, total_steps=T, steps_per_epoch=10,
                       per="step", cycles=M)
    L = math.ceil(T / M)
    for t in range(1, T + 1):  # the paper counts iterations from 1
        expected = a0 / 2 * (math.cos(math.pi * ((t - 1) % L) / L) + 1)
        assert lr(t - 1) == pytest.approx(expected)
    assert cyclic_cosine(1.0, 8, cycles=2)(4) == 1.0


def test_snapshots_are_taken_at_the_end_of_every_cycle():
    assert snapshot_steps(100, 4) == [24, 49, 74, 99]
    assert snapshot_steps(12, 3) == [3, 7, 11]


@pytest.fixture(scope="module")
def snapshot_run(tmp_path_factory):
    recipe = Recipe.from_dict({**BASE, "ensemble": {"snapshots": 3}})
    out = execute(recipe)
    folder = tmp_path_factory.mktemp("snap")
    save_run(folder, recipe_toml=recipe.to_toml(), history=out.history, weights=out.weights,
             artifacts=out.artifacts)
    return out, folder


def test_the_lr_restarts_exactly_at_the_cycle_boundaries(snapshot_run):
    out, _ = snapshot_run
    lrs = out.history.step_lr
    steps = len(lrs)
    cycle = out.history.snapshots["cycle_steps"]
    assert cycle == math.ceil(steps / 3)
    restarts = [t for t in range(1, steps) if lrs[t] > lrs[t - 1]]
    assert restarts == [cycle, 2 * cycle]
    assert all(lrs[t] == pytest.approx(0.2) for t in [0, *restarts])
    assert min(lrs) > 0


def test_m_snapshots_are_written_and_their_ensemble_comes_from_stored_probabilities(snapshot_run):
    out, folder = snapshot_run
    files = sorted(p.name for p in (folder / "snapshots").iterdir())
    assert files == ["snapshot-1.safetensors", "snapshot-2.safetensors", "snapshot-3.safetensors"]
    preds = load_predictions(folder)
    members = preds.snapshots("test")
    assert len(members) == 3
    y = preds.targets("test")
    ens = score(members, y).ensemble
    assert out.history.final["test_acc"] == pytest.approx(ens)
    assert accuracy(preds.probs("test"), y) == pytest.approx(ens)
    # the last model alone is kept too, and is the last snapshot
    assert out.history.final["test_acc_last"] == pytest.approx(accuracy(members[-1], y))
    assert torch.allclose(preds.probs("test", "last"), members[-1])


def test_use_last_ensembles_only_the_last_snapshots():
    out = execute(Recipe.from_dict({**BASE, "ensemble": {"snapshots": 3, "use_last": 2}}))
    p = out.artifacts["predictions"]
    mean = (p["snapshot2_test"] + p["snapshot3_test"]) / 2
    assert torch.allclose(p["test"], mean)


@pytest.mark.parametrize(("sections", "key"), [
    ({"ensemble": {"snapshots": 1}}, "ensemble.snapshots"),
    ({"ensemble": {"snapshots": 0}}, "ensemble.snapshots"),
    ({"ensemble": {"use_last": 2}}, "ensemble.use_last"),
    ({"ensemble": {"snapshots": 3, "use_last": 4}}, "ensemble.use_last"),
    ({"ensemble": {"snapshots": 3}, "schedule": {"name": "cosine"}}, "schedule.name"),
    ({"ensemble": {"snapshots": 3}, "average": {"kind": "ema"}}, "average.kind"),
    ({"ensemble": {"snapshots": 3}, "train": {"early_stopping": {"patience": 2}}},
     "train.early_stopping"),
    ({"schedule": {"name": "cyclic_cosine", "cycles": 0}}, "schedule.cycles"),
])
def test_bad_ensemble_options_name_their_key(sections, key):
    with pytest.raises(ConfigError) as err:
        Recipe.from_dict({**sections})
    assert err.value.key == key


def test_a_run_too_short_for_its_cycles_fails_with_the_key_named():
    r = Recipe.from_dict({**BASE, "ensemble": {"snapshots": 5},
                          "train": {**BASE["train"], "epochs": 1, "batch_size": 2000}})
    out = execute(r)
    assert out.status == "failed"
    assert out.history.error.startswith("ConfigError: ensemble.snapshots = 5")
