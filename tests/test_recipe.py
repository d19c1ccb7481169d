import tomllib

import pytest

from trainwell.errors import ConfigError, TrainwellError
from trainwell.recipe import Recipe, apply_overrides, load_recipe, parse_override

MALFORMED = [
    # (recipe dict, key the message must name)
    ({"dataa": {}}, "dataa"),
    ({"data": {"name": "mnist2d"}}, "data.name"),
    ({"data": {"name": 3}}, "data.name"),
    ({"data": {"labels_fraction": 0.0}}, "data.labels_fraction"),
    ({"data": {"labels_fraction": 1.5}}, "data.labels_fraction"),
    ({"data": {"val_fraction": -0.1}}, "data.val_fraction"),
    ({"data": {"num_samples": "many"}}, "data.num_samples"),
    ({"data": {"bogus": 1}}, "data.bogus"),
    ({"data": "mnist1d"}, "data"),
    ({"model": {"name": "transformer"}}, "model.name"),
    ({"model": {"depth": 0}}, "model.depth"),
    ({"model": {"depth": 2.5}}, "model.depth"),
    ({"model": {"width": -4}}, "model.width"),
    ({"model": {"dropout": 1.0}}, "model.dropout"),
    ({"model": {"dropout": -0.2}}, "model.dropout"),
    ({"model": {"activation": "rellu"}}, "model.activation"),
    ({"model": {"batch_norm": "yes"}}, "model.batch_norm"),
    ({"model": {"name": "cnn", "depth": 3}}, "model.depth"),
    ({"init": {"name": "xavier_glorot"}}, "init.name"),
    ({"init": {"name": "normal", "std": 0.0}}, "init.std"),
    ({"init": {"name": "he_normal", "mode": "fan_sideways"}}, "init.mode"),
    ({"init": {"bias": "zero"}}, "init.bias"),
    ({"optim": {"name": "adamm"}}, "optim.name"),
    ({"optim": {"lr": 0}}, "optim.lr"),
    ({"optim": {"lr": -1}}, "optim.lr"),
    ({"optim": {"name": "momentum", "momentum": 1.5}}, "optim.momentum"),
    ({"optim": {"name": "adam", "betas": [0.9]}}, "optim.betas"),
    ({"optim": {"name": "sgd", "betas": [0.9, 0.99]}}, "optim.betas"),
    ({"train": {"epochs": 0}}, "train.epochs"),
    ({"train": {"batch_size": 0}}, "train.batch_size"),
    ({"train": {"epochs": True}}, "train.epochs"),
    ({"train": {"device": "tpu"}}, "train.device"),
    ({"train": {"seed": -1}}, "train.seed"),
    ({"train": {"epoch": 3}}, "train.epoch"),
    ({"name": 5}, "name"),
]


@pytest.mark.parametrize(("raw", "key"), MALFORMED, ids=[k for _, k in MALFORMED])
def test_malformed_recipe_names_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict(raw)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key} = ")


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(ConfigError, match="did you mean 'he_normal'") as info:
        Recipe.from_dict({"init": {"name": "he_norml"}})
    assert "glorot_uniform" in str(info.value)


def test_unknown_option_lists_allowed_options():
    with pytest.raises(ConfigError, match="did you mean 'epochs'") as info:
        Recipe.from_dict({"train": {"epoch": 3}})
    assert "batch_size" in str(info.value)


def test_defaults_are_filled_in_and_round_trip():
    r = Recipe.from_dict({})
    d = r.to_dict()
    assert d["model"]["name"] == "mlp" and "depth" in d["model"]
    assert Recipe.from_dict(d) == r
    assert tomllib.loads(r.to_toml()) == d


def test_round_trip_of_a_full_recipe_through_toml(tmp_path):
    raw = {"name": "deep <relu>", "note": "quote \" and \\ backslash",
           "data": {"name": "digits", "labels_fraction": 0.5},
           "model": {"name": "cnn", "channels": [4, 8], "activation": "leaky_relu",
                     "negative_slope": 0.2},
           "init": {"name": "uniform", "a": -0.5, "b": 0.5, "bias": 0.1},
           "optim": {"name": "adam", "lr": 3e-4, "betas": [0.8, 0.99]},
           "train": {"epochs": 2, "seed": 7}}
    r = Recipe.from_dict(raw)
    path = tmp_path / "r.toml"
    path.write_text(r.to_toml())
    again = load_recipe(path)
    assert again == r
    assert again.to_dict() == r.to_dict()
    assert again.init.options["bias"] == 0.1


def test_ints_are_accepted_for_floats_but_not_strings():
    assert Recipe.from_dict({"optim": {"name": "sgd", "lr": 1}}).optim.options["lr"] == 1
    with pytest.raises(ConfigError):
        Recipe.from_dict({"optim": {"name": "sgd", "lr": "0.1"}})


def test_overrides_parse_toml_values_and_plain_strings():
    assert parse_override("optim.lr=0.5") == (["optim", "lr"], 0.5)
    assert parse_override("init.name=he_normal") == (["init", "name"], "he_normal")
    assert parse_override("model.channels=[8, 16]") == (["model", "channels"], [8, 16])
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("optim.lr")


def test_override_of_a_name_drops_the_old_components_options():
    r = Recipe.from_dict({"model": {"name": "mlp", "depth": 6}})
    cnn = r.replace(["model.name=cnn", "model.channels=[4]"])
    assert cnn.model.name == "cnn" and cnn.model.options["channels"] == [4]
    same = r.replace(["model.width=32"])
    assert same.model.options["depth"] == 6 and same.model.options["width"] == 32


def test_override_into_a_value_is_an_error():
    with pytest.raises(ConfigError, match="optim.lr.x"):
        apply_overrides({"optim": {"lr": 0.1}}, ["optim.lr.x=1"])


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(TrainwellError, match="does not exist"):
        load_recipe(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nname = 1")
    with pytest.raises(TrainwellError, match="not valid TOML"):
        load_recipe(bad)


def test_the_readme_recipe_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]
    recipes = []
    for i, block in enumerate(blocks):
        (tmp_path / f"r{i}.toml").write_text(block)
        recipes.append(load_recipe(tmp_path / f"r{i}.toml"))
    assert any(r.model.options.get("depth") == 6 and r.schedule.name == "cosine" for r in recipes)
    assert any(r.model.options.get("dropconnect") == 0.5 and r.regularize.l2 == 1e-4
               for r in recipes)


@pytest.mark.parametrize("name, hint", [("iris", None), ("mnist1", "mnist1d"), ("digit", "digits")])
def test_an_unknown_dataset_suggests_only_a_close_match(name, hint):
    with pytest.raises(ConfigError, match="data.name") as info:
        Recipe.from_dict({"data": {"name": name}})
    if hint is None:
        assert "did you mean" not in str(info.value)
    else:
        assert f"did you mean {hint!r}" in str(info.value)
