"""The ensembles experiment tests Huang et al.'s and Izmailov et al.'s claims in their own
terms: a snapshot run restarting at alpha0 = 0.2 against independent models of the same total
budget, and SWA's schedule at budgets 1 and 1.5 against conventional training of each."""

from __future__ import annotations

import torch

from trainwell.build import check_runnable, prepare_data
from trainwell.ensemble.averaging import average_options
from trainwell.experiments import experiment_path
from trainwell.sweep import load_sweep


def _variants():
    recipes = load_sweep(experiment_path("ensembles")).recipes()
    out: dict[str, list] = {}
    for point, _, recipe in recipes:
        out.setdefault(point["variant"]["label"], []).append(recipe)
    return out


def test_every_variant_has_at_least_five_seeds_and_the_papers_weight_decay():
    variants = _variants()
    assert len(variants) == 8
    for label, recipes in variants.items():
        assert len(recipes) >= 5, label
        assert all(3e-4 <= r.optim.options["weight_decay"] <= 5e-4 for r in recipes)


def test_snapshot_run_restarts_higher_with_fewer_longer_cycles_at_the_budget_of_independent_models():
    variants = _variants()
    snapshot = next(rs[0] for label, rs in variants.items() if label.startswith("snapshot"))
    independent = next(rs for label, rs in variants.items() if label.startswith("independent"))
    single = variants["single model, cosine (budget 1.5: 150 epochs)"][0]
    cycles = snapshot.ensemble.snapshots
    assert snapshot.optim.options["lr"] == 0.2 > 4 * single.optim.options["lr"] - 1e-9
    assert cycles <= 4 and snapshot.train.epochs // cycles >= 40
    assert cycles * independent[0].train.epochs == snapshot.train.epochs == single.train.epochs
    assert len(independent) >= cycles
    assert {r.schedule.name for r in independent} == {"cosine"}


def test_swa_averages_from_80_percent_of_each_budget_at_a_constant_swa_lr():
    variants = _variants()
    base = variants["single model, cosine (budget 1: 100 epochs)"][0].train.epochs
    swa = {label: rs[0] for label, rs in variants.items() if label.startswith("SWA")}
    assert sorted(r.train.epochs / base for r in swa.values()) == [1.0, 1.5]
    for r in swa.values():
        options = average_options(r.average.__dict__, r.train.epochs)
        assert options["start"] == round(0.8 * r.train.epochs)
        assert options["swa_lr"] == r.schedule.options["min_lr"] == 0.01
        assert options["anneal_epochs"] == 0 and options["update_bn"]
    conventional = {r[0].train.epochs for label, r in variants.items() if label.startswith("single")}
    assert conventional == {r.train.epochs for r in swa.values()}
    assert any(rs[0].average.kind == "polyak" for rs in variants.values())


def test_every_recipe_of_the_experiment_is_runnable_on_its_data():
    recipes = [r for rs in _variants().values() for r in rs]
    dataset = prepare_data(recipes[0], torch.device("cpu"))
    for recipe in recipes:
        check_runnable(recipe, dataset)
