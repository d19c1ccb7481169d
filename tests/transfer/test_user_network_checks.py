"""A user's network that cannot be built on the meta device (its factory computes on its
weights) is still checked when the recipe is read: it is built on the CPU instead, without
touching the random generators. A network that cannot be built at read time at all is checked
when its run starts: the run is recorded failed, and its one line names ``transfer.freeze`` or
the weights file."""

import json

import pytest
import torch

from trainwell import _toml
from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.loop import save_run
from trainwell.loop.history import History
from trainwell.models import build_model
from trainwell.plan import resolve
from trainwell.recipe import Recipe
from trainwell.transfer import resolve as transfer_resolve

SOURCE = '''
import math

import torch
from torch import nn


class Fussy(nn.Module):
    """Two layer groups, ``body`` and ``head``; the body's weights are scaled by their norm,
    read as a Python number (which a tensor on the meta device has not)."""

    def __init__(self, input_shape, num_classes, hidden):
        super().__init__()
        self.flat, self.act = nn.Flatten(), nn.ReLU()
        self.body = nn.Linear(math.prod(input_shape), hidden)
        self.head = nn.Linear(hidden, num_classes)
        with torch.no_grad():
            self.body.weight.div_(float(self.body.weight.norm()))

    def forward(self, x):
        return self.head(self.act(self.body(self.flat(x))))


def fussy(input_shape, num_classes, hidden=16):
    return Fussy(input_shape, num_classes, hidden)
'''

DIGITS = {"name": "digits"}


@pytest.fixture
def fussy(importable):
    transfer_resolve._layout.cache_clear()
    yield importable("tw_fussy_nets", SOURCE) + ":fussy"
    transfer_resolve._layout.cache_clear()


def _source(folder, spec, hidden=16):
    model = {"name": spec, "hidden": hidden}
    recipe = Recipe.from_dict({"data": DIGITS, "model": model, "train": {"epochs": 1}})
    net = build_model(spec, input_shape=(1, 8, 8), num_classes=10, hidden=hidden)
    save_run(folder, recipe_toml=recipe.to_toml(), history=History(status="done"),
             weights=net.state_dict())
    return folder


def _target(folder, spec, hidden=16, **transfer):
    return {"data": DIGITS, "model": {"name": spec, "hidden": hidden},
            "train": {"epochs": 2, "threads": 1, "record_every": 0},
            "transfer": {"from": str(folder), **transfer}}


def _train(tmp_path, raw):
    path = tmp_path / "target.toml"
    path.write_text(_toml.dumps(raw))
    out = tmp_path / "out"
    return main(["train", str(path), "--out", str(out), "--quiet"]), out


def test_the_network_cannot_be_built_on_the_meta_device(fussy):
    with pytest.raises(RuntimeError), torch.device("meta"):
        build_model(fussy, input_shape=(1, 8, 8), num_classes=10)


def test_it_is_built_on_the_cpu_to_check_freeze_and_fit_when_read(fussy, tmp_path, capsys):
    folder = _source(tmp_path / "src", fussy)
    rng = torch.get_rng_state()
    assert resolve(Recipe.from_dict(_target(folder, fussy, freeze=1))).transfer.digest
    assert torch.equal(torch.get_rng_state(), rng)  # building it drew no random numbers
    with pytest.raises(ConfigError, match=r"transfer.freeze = 2: expected fewer than the "
                                          r"model's 2 layer groups \(body, head\)"):
        resolve(Recipe.from_dict(_target(folder, fussy, freeze=2)))
    with pytest.raises(ConfigError, match=r"body.weight \(source \[16, 64\], target \[8, 64\]\)"):
        resolve(Recipe.from_dict(_target(folder, fussy, hidden=8)))
    code, out = _train(tmp_path, _target(folder, fussy, freeze=2))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: transfer.freeze = 2") and not out.exists()
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("change, key", [({"freeze": 2}, "transfer.freeze = 2"),
                                         ({"hidden": 8}, "weights.safetensors")])
def test_a_network_not_built_when_read_fails_its_run_naming_the_key(fussy, tmp_path, capsys,
                                                                    monkeypatch, change, key):
    monkeypatch.setattr(transfer_resolve, "target_layout", lambda data, model: None)
    folder = _source(tmp_path / "src", fussy)
    code, out = _train(tmp_path, _target(folder, fussy, **change))
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.out + printed.err
    lines = [line for line in (printed.out + printed.err).splitlines() if key in line]
    assert len(lines) == 1, printed
    history = json.loads((out / "history.json").read_text())
    assert history["status"] == "failed" and history["phase"] == "transfer"
    assert key in history["error"] and "\n" not in history["error"]
    if "freeze" not in change:
        assert str(folder / "weights.safetensors") in history["error"]
