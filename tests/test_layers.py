"""Imports go down the layers, never up: each subpackage imported alone in a fresh interpreter
loads nothing above it."""

import json
import subprocess
import sys

import pytest

LAYERS = [
    ["errors", "names", "params", "option_types", "_io", "_toml", "_numbers"],
    ["data", "models", "init", "optim", "recipe", "sweep"],
    ["train"],
    ["pretrain", "diagnose"],
    ["execute", "recipe_tools"],
    ["run", "results", "report"],
    ["cli"],
]
"""Bottom to top. ``recipe`` and ``sweep`` reach the component tables lazily, inside functions."""

SCRIPT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("trainwell."))))
"""


def _level(module: str) -> int:
    top = module.split(".")[1]
    found = [i for i, names in enumerate(LAYERS) if top in names]
    assert found, f"trainwell.{top} is in no layer: add it to LAYERS"
    return found[0]


@pytest.mark.parametrize("name", [n for names in LAYERS for n in names])
def test_importing_a_module_loads_nothing_above_its_layer(name):
    target = f"trainwell.{name}"
    out = subprocess.run([sys.executable, "-c", SCRIPT, target], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out)
    above = [m for m in loaded if _level(m) > _level(target)]
    assert above == [], f"{target} loads {above}"


def test_train_is_a_leaf():
    out = subprocess.run([sys.executable, "-c", SCRIPT, "trainwell.train"], capture_output=True,
                         text=True, check=True).stdout
    loaded = {m.split(".")[1] for m in json.loads(out)}
    assert not loaded & {"diagnose", "pretrain", "run", "execute", "report"}
