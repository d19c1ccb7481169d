"""Imports go down the layers, never up: each subpackage imported alone in a fresh interpreter
loads nothing above it."""

import json
import subprocess
import sys

LAYERS = [
    ["errors", "names", "params", "option_types", "_io", "_toml", "_numbers", "_live",
     "callback_order", "_spec"],
    ["data", "models", "init", "optim", "recipe", "sweep", "sections", "section_tables",
     "section_checks", "regularize",
     "regularize._checks", "regularize._random", "regularize.dropout", "regularize.dropconnect",
     "regularize.stochastic_depth"],
    ["loop"],
    ["pretrain", "diagnose", "regularize.penalties", "regularize.early_stopping", "ensemble",
     "transfer", "integrations"],
    ["execute", "recipe_tools"],
    ["run", "results", "report", "run_result", "export"],
    ["doctor"],
    ["api"],
    ["cli"],
]
"""Bottom to top, by module: the longest listed prefix decides (the regularizers that are
model layers sit beside the models, the ones that are trainer callbacks above the trainer).
``recipe`` and ``sweep`` reach the component tables lazily, inside functions."""

SCRIPT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("trainwell."))))
"""


def _level(module: str) -> int:
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        found = [i for i, names in enumerate(LAYERS) if name in names]
        if found:
            return found[0]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _loaded(targets: list[str]) -> dict[str, list[str]]:
    """The trainwell modules each target loads when imported alone in a fresh interpreter
    (a few interpreters at a time)."""
    out: dict[str, list[str]] = {}
    pending = list(targets)
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < 4:
            t = pending.pop()
            running.append((t, subprocess.Popen([sys.executable, "-c", SCRIPT, t],
                                                stdout=subprocess.PIPE, text=True)))
        target, proc = running.pop(0)
        stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"importing {target} failed"
        out[target] = json.loads(stdout)
    return out


def test_importing_a_module_loads_nothing_above_its_layer():
    targets = [f"trainwell.{n}" for names in LAYERS for n in names if "." not in n]
    loaded = _loaded(targets)
    above = {t: [m for m in mods if _level(m) > _level(t)] for t, mods in loaded.items()}
    assert {t: ms for t, ms in above.items() if ms} == {}


def test_loop_is_a_leaf():
    out = subprocess.run([sys.executable, "-c", SCRIPT, "trainwell.loop"], capture_output=True,
                         text=True, check=True).stdout
    loaded = {m.split(".")[1] for m in json.loads(out)}
    assert not loaded & {"diagnose", "pretrain", "run", "execute", "report"}
