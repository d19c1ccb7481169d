import json

import pytest

from trainwell.cli import main
from trainwell.recipe import Recipe
from trainwell.recipe_diagnosis import diagnose_recipe

SMALL = ["--set", "data.name=digits", "--set", "model.depth=3", "--set", "model.width=32",
         "--set", "train.threads=1"]


def test_diagnose_command_prints_verdicts_and_writes_the_page(tmp_path, capsys):
    out = tmp_path / "diag"
    assert main(["diagnose", *SMALL, "--set", "init.name=zeros", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "symmetric units" in printed
    page = (out / "diagnosis.html").read_text()
    assert "symmetric units" in page and "data:image/png;base64," in page
    assert "built-in method" not in page
    saved = json.loads((out / "diagnosis.json").read_text())
    assert {v["kind"] for v in saved["verdicts"]} >= {"symmetric"}
    assert len(saved["layers"]) == 4


def test_diagnose_after_steps_trains_first(tmp_path, capsys):
    out = tmp_path / "diag"
    assert main(["diagnose", *SMALL, "--after-steps", "7", "--out", str(out)]) == 0
    assert "after 7 steps" in (out / "diagnosis.html").read_text()
    assert main(["diagnose", *SMALL, "--after-steps", "-1", "--out", str(out)]) == 2


@pytest.mark.parametrize("model", [
    {"name": "mlp", "depth": 2, "width": 16, "activation": act}
    for act in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
                "softsign", "maxout")
] + [{"name": "mlp", "depth": 2, "width": 16, "batch_norm": True, "dropout": 0.1},
     {"name": "cnn", "channels": [4, 8]}, {"name": "cnn", "channels": [4], "activation": "maxout"}])
@pytest.mark.parametrize("data", ["digits", "mnist1d"])
def test_every_built_in_model_can_be_diagnosed(model, data):
    r = Recipe.from_dict({"data": {"name": data, "num_samples": 1000} if data == "mnist1d"
                          else {"name": data}, "model": model, "train": {"threads": 1}})
    d = diagnose_recipe(r).diagnosis
    assert d.verdicts and len(d.layers) >= 2
    assert all(s.weight_norm > 0 for s in d.layers)
