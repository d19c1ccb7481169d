"""User factories named "package.module:factory": loading, calling, and every error path."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError, TrainwellError
from trainwell.models import build_model, load_factory, model_options_fn, validate_model_options

SOURCE = '''
from torch import nn

calls = []

def small(input_shape, num_classes, *, hidden=16):
    calls.append(("small", input_shape, num_classes, hidden))
    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1], hidden),
                         nn.ReLU(), nn.Linear(hidden, num_classes))

def classes_only(num_classes):
    calls.append(("classes_only", num_classes))
    return nn.Linear(40, num_classes)

def anything(**kwargs):
    calls.append(("anything", kwargs))
    return nn.Identity()

def needs_depth(input_shape, num_classes, depth):
    return nn.Identity()

def not_a_model(input_shape, num_classes):
    return "a string"

class Builders:
    @staticmethod
    def tiny(num_classes):
        return nn.Linear(1, num_classes)

RATE = 0.5
'''


@pytest.fixture
def user_module(importable):
    """A module ``tw_user_nets`` importable from a temporary folder, removed afterwards."""
    importable("tw_user_broken", "import tw_no_such_dependency\n")
    importable("tw_user_syntax", "def f(:\n")
    return importable("tw_user_nets", SOURCE)


def test_factory_builds_with_shape_classes_and_options(user_module):
    model = build_model(f"{user_module}:small", input_shape=[1, 40], num_classes=10, hidden=8)
    assert model(torch.randn(3, 1, 40)).shape == (3, 10)
    assert sys.modules[user_module].calls == [("small", (1, 40), 10, 8)]


def test_factory_gets_only_the_arguments_it_accepts(user_module):
    build_model(f"{user_module}:classes_only", input_shape=(1, 40), num_classes=4)
    build_model(f"{user_module}:anything", input_shape=(1, 40), num_classes=4, width=3)
    assert sys.modules[user_module].calls == [
        ("classes_only", 4),
        ("anything", {"input_shape": (1, 40), "num_classes": 4, "width": 3}),
    ]


def test_dotted_attribute(user_module):
    model = build_model(f"{user_module}:Builders.tiny", input_shape=(1, 40), num_classes=3)
    assert isinstance(model, nn.Linear) and model.out_features == 3


def test_options_fn_and_validation(user_module):
    fn = model_options_fn(f"{user_module}:small")
    assert fn is sys.modules[user_module].small
    assert validate_model_options(f"{user_module}:small", {"hidden": 4}) == {"hidden": 4}


@pytest.mark.parametrize("spec", ["tw_user_nets", "tw_user_nets:", ":small", "a b:c", "m:f:g"])
def test_malformed_spec(spec):
    with pytest.raises(ConfigError, match=r"model\.name = .*package\.module:factory"):
        load_factory(spec)


def test_missing_module_is_named(user_module):
    with pytest.raises(ConfigError, match=r"no module named 'tw_missing_pkg'"):
        build_model("tw_missing_pkg.nets:small", input_shape=(1, 40), num_classes=3)


def test_module_that_fails_to_import_names_the_cause(user_module):
    with pytest.raises(ConfigError, match=r"importing 'tw_user_broken' raised ModuleNotFoundError.*"
                                          r"tw_no_such_dependency"):
        load_factory("tw_user_broken:f")
    with pytest.raises(ConfigError, match=r"importing 'tw_user_syntax' raised SyntaxError"):
        load_factory("tw_user_syntax:f")


def test_missing_attribute_suggests(user_module):
    with pytest.raises(ConfigError, match=r"no attribute 'smal'.*did you mean 'small'"):
        load_factory(f"{user_module}:smal")


def test_not_callable(user_module):
    with pytest.raises(ConfigError, match=r"'RATE' is a float"):
        load_factory(f"{user_module}:RATE")


def test_returns_something_else(user_module):
    with pytest.raises(ConfigError, match=r"model\.name = 'tw_user_nets:not_a_model'.*nn\.Module.*str"):
        build_model(f"{user_module}:not_a_model", input_shape=(1, 40), num_classes=3)


def test_unknown_option_suggests(user_module):
    with pytest.raises(ConfigError, match=r"model\.hiden = 8.*allowed: hidden.*did you mean 'hidden'"):
        build_model(f"{user_module}:small", input_shape=(1, 40), num_classes=3, hiden=8)


def test_required_option_missing(user_module):
    with pytest.raises(ConfigError, match=r"model\.depth = None.*requires the argument 'depth'"):
        build_model(f"{user_module}:needs_depth", input_shape=(1, 40), num_classes=3)
    assert build_model(f"{user_module}:needs_depth", input_shape=(1, 40), num_classes=3, depth=2)


def test_shape_and_classes_come_from_the_data(user_module):
    with pytest.raises(ConfigError, match=r"model\.num_classes = 5.*from the data"):
        validate_model_options(f"{user_module}:small", {"num_classes": 5})


def test_errors_are_trainwell_errors():
    with pytest.raises(TrainwellError, match="nocolon"):
        load_factory("nocolon")
