import dataclasses
import hashlib

import pytest
import torch

from trainwell.data.augment import Augment
from trainwell.diagnose import GradientFlowRecorder
from trainwell.diagnose.monitor import Monitor
from trainwell.ensemble.averaging import WeightAverage
from trainwell.ensemble.snapshots import Snapshots
from trainwell.errors import ConfigError
from trainwell.execute import build_model_for, prepare_data
from trainwell.experiments import experiment_path
from trainwell.optim.schedules import LRSchedule
from trainwell.params import option_fields
from trainwell.recipe import DEFAULTS, Recipe, takes_option
from trainwell.regularize import EarlyStopping, Penalty
from trainwell.sections import CATALOGUE_ORDER, CHECK_ORDER, SECTIONS, catalogue, section_callbacks
from trainwell.sweep import load_sweep, run_id

# Recorded before the sections moved into one registry: the registry must not change an id.
PINNED_IDS = [
    ({}, "69a8b9d71b37"),
    ({"data": {"name": "digits"}, "train": {"epochs": 1}}, "13356d1eb435"),
    ({"init": {"name": "lsuv"}, "schedule": {"name": "cosine", "warmup": 10}}, "0a0fd05d9d2d"),
    ({"init": {"name": "he_normal", "bias": 0.1}, "regularize": {"l2": 1e-4}}, "67a97d482d90"),
    ({"augment": {"transforms": [{"name": "shift", "max_shift": 4}], "test_views": 3}},
     "0b6e9ec620db"),
    ({"ensemble": {"snapshots": 3, "use_last": 2}}, "cf2f506f3f11"),
    ({"average": {"kind": "swa", "swa_lr": 0.01}, "train": {"epochs": 10}}, "89abf7a0ce7f"),
    ({"average": {"kind": "ema"}}, "535950f16128"),
    ({"train": {"early_stopping": {"patience": 3}, "checkpoint_every": 2}}, "73154cce3f04"),
    ({"model": {"name": "resnet", "stochastic_depth": 0.3, "pool": "max"}}, "769f4780727c"),
    ({"model": {"name": "cnn"}, "schedule": {"name": "step", "step_size": 5}}, "046fd43f0c16"),
    ({"transfer": {"from": {"data": {"name": "digits"}}, "freeze": "features", "lr_mult": 0.5}},
     "e41b61141341"),
]
PINNED_EXPERIMENTS = {"init": (36, "1d7593bf75f730a2"), "regularize": (36, "8cb33690d7acb72a"),
                      "ensembles": (40, "3a839f73620543ee")}


@pytest.mark.parametrize("raw, expected", PINNED_IDS)
def test_run_ids_of_a_fixed_set_of_recipes_do_not_change(raw, expected):
    assert run_id(Recipe.from_dict(raw).to_dict()) == expected


@pytest.mark.parametrize("name", sorted(PINNED_EXPERIMENTS))
def test_run_ids_of_the_built_in_experiments_do_not_change(name):
    ids = sorted(run_id(r.to_dict()) for _, _, r in load_sweep(experiment_path(name)).recipes())
    digest = hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16]
    assert (len(ids), digest) == PINNED_EXPERIMENTS[name]


def test_the_registry_has_every_section_of_a_recipe_in_its_order():
    fields = [f.name for f in dataclasses.fields(Recipe) if f.name not in ("name", "note")]
    assert sorted(SECTIONS) == sorted(fields)
    assert list(Recipe.from_dict({"ensemble": {"snapshots": 2}}).to_dict()) == [
        s for s in SECTIONS if s not in ("average", "transfer")]
    assert set(CHECK_ORDER) <= set(SECTIONS)
    assert all(SECTIONS[s].check is not None for s in CHECK_ORDER)


def test_each_section_s_default_is_what_a_recipe_without_it_gets():
    plain = Recipe.from_dict({})
    for name, spec in SECTIONS.items():
        assert DEFAULTS[name] == dict(spec.default)
        alone = Recipe.from_dict({name: dict(spec.default)})
        assert getattr(alone, name) == getattr(plain, name), name


def test_a_section_kind_is_decided_by_the_registry_alone():
    components = {s for s, spec in SECTIONS.items() if spec.table is None}
    assert components == {"data", "model", "init", "optim", "schedule"}
    assert SECTIONS["train"].schema() is type(Recipe.from_dict({}).train)
    assert SECTIONS["model"].schema("cnn").__name__ == "cnn"
    assert takes_option("init", "dbn", "epochs") and not takes_option("init", "he_normal", "epochs")
    assert takes_option("train", "", "epochs") and not takes_option("train", "", "epoch")
    assert takes_option("transfer", "", "from") and not takes_option("transfer", "", "source")


def test_a_section_that_is_not_a_table_names_itself():
    for name in SECTIONS:
        with pytest.raises(ConfigError) as err:
            Recipe.from_dict({name: 3})
        assert err.value.key == name


def test_the_catalogue_lists_every_component_section_and_what_runs_add():
    shown = dict(catalogue())
    assert "he_normal" in shown["initializers  [init] name"]
    assert set(shown["data-driven initializers  [init] name"]) == {"lsuv", "dbn", "autoencoder"}
    titles = " ".join(shown)
    for name, spec in SECTIONS.items():
        if spec.table is None:
            assert f"[{name}] name" in titles
    assert all(len(names) > 0 for names in shown.values())


def test_every_section_has_its_lines_in_the_catalogue():
    assert sorted(CATALOGUE_ORDER) == sorted(SECTIONS)
    assert [s for s, spec in SECTIONS.items() if not spec.catalogue] == []
    transfer = dict(catalogue())["transfer learning  [transfer]"]
    assert set(transfer) == {("from" if k == "source" else k)
                             for k in option_fields(SECTIONS["transfer"].table)} - {"digest"}


def test_trainwell_list_prints_the_descriptions_as_written(capsys):
    from trainwell.cli import main

    assert main(["list"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())  # cells wrap over lines
    assert "set by [init]" in out and "(AlexNet, airbench) [image]" in out
    assert "transfer learning [transfer]" in out


def test_later_options_are_left_out_at_their_defaults_and_kept_otherwise():
    later = [(section, name, option, default) for section, spec in SECTIONS.items()
             for name, options in spec.later.items() for option, default in options.items()]
    assert {(s, n) for s, n, _, _ in later} == {
        ("model", "resnet"), ("model", "cnn"), ("optim", "adam"), ("optim", "adamw"),
        ("optim", "sgd"), ("optim", "momentum"), ("optim", "nesterov"), ("optim", "adagrad")}
    for section, name, option, default in later:
        assert option_fields(SECTIONS[section].schema(name))[option].default == default
        plain = Recipe.from_dict({section: {"name": name}})
        at_default = Recipe.from_dict({section: {"name": name, option: default}})
        assert option not in at_default.to_dict()[section]
        assert run_id(at_default.to_dict()) == run_id(plain.to_dict())
    changed = Recipe.from_dict({"model": {"name": "resnet", "global_pool": "max"}})
    assert changed.to_dict()["model"]["global_pool"] == "max"
    assert Recipe.from_dict({"optim": {"name": "adam", "bias_correction": False}}
                            ).to_dict()["optim"]["bias_correction"] is False


SMALL = {"data": {"name": "digits"}, "train": {"epochs": 4, "record_every": 0}}


@pytest.mark.parametrize("section, table, kind", [
    ("schedule", {"name": "cosine"}, LRSchedule),
    ("schedule", {"name": "constant", "warmup": 3}, LRSchedule),
    ("regularize", {"l2": 1e-3}, Penalty),
    ("augment", {"transforms": [{"name": "noise"}]}, Augment),
    ("ensemble", {"snapshots": 2}, Snapshots),
    ("average", {"kind": "ema"}, WeightAverage),
    ("train", {"epochs": 4, "record_every": 5}, [Monitor, GradientFlowRecorder]),
    ("train", {"epochs": 4, "record_every": 0, "early_stopping": {"patience": 2}}, EarlyStopping),
])
def test_each_section_adds_its_callback_only_when_it_is_on(section, table, kind):
    def added(raw):
        recipe = Recipe.from_dict(raw)
        data = prepare_data(recipe, torch.device("cpu"))
        return [type(cb) for cb in section_callbacks(recipe, build_model_for(
            recipe, data, torch.device("cpu")), data)]

    assert added(SMALL) == []
    assert added({**SMALL, section: table}) == (kind if isinstance(kind, list) else [kind])
