"""train.precision, train.compile and train.channels_last as recipe options: validated with the
key named, left out of the recipe's dict at their defaults, and wired into a run."""

import pytest
import torch

from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.execute import RunContext, check_runnable, execute, prepare_data
from trainwell.recipe import Recipe
from trainwell.sweep import run_id

BASE = {"data": {"name": "digits"}, "train": {"epochs": 2, "threads": 1, "record_every": 0}}


def _recipe(model=None, **train):
    raw = {**BASE, "train": {**BASE["train"], **train}}
    if model is not None:
        raw["model"] = model
    return Recipe.from_dict(raw)


def test_defaults_stay_out_of_the_recipe_and_its_run_id():
    plain = _recipe()
    explicit = _recipe(precision="fp32", compile=False, channels_last=False)
    assert explicit.to_dict() == plain.to_dict()
    assert run_id(explicit.to_dict()) == run_id(plain.to_dict())
    on = _recipe(precision="bf16", compile="max-autotune", channels_last=True)
    assert on.to_dict()["train"] | {} == {**plain.to_dict()["train"], "precision": "bf16",
                                          "compile": "max-autotune", "channels_last": True}
    assert Recipe.from_dict(on.to_dict()) == on


@pytest.mark.parametrize(("option", "value", "needle"), [
    ("precision", "bfloat16", "did you mean 'bf16'"),
    ("precision", "bf61", "did you mean 'bf16'"),
    ("precision", 16, "fp32, bf16 or fp16"),
    ("compile", "reduce-overhead", '"max-autotune"'),
    ("compile", 1, "false, true"),
    ("channels_last", "yes", "true or false"),
])
def test_bad_values_name_the_key(option, value, needle):
    with pytest.raises(ConfigError, match=f"train.{option}") as err:
        _recipe(**{option: value})
    assert needle in str(err.value)


def test_bad_value_on_the_command_line_exits_2(tmp_path, capsys):
    code = main(["train", "--set", "data.name=digits", "--set", "train.precision=fp8",
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "train.precision = 'fp8'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_fp16_with_lbfgs_is_bad_input():
    with pytest.raises(ConfigError, match="train.precision.*lbfgs"):
        Recipe.from_dict({"optim": {"name": "lbfgs"}, "train": {"precision": "fp16"}})


def test_bf16_run_trains_with_float32_weights():
    out = execute(_recipe(precision="bf16"))
    assert out.status == "done" and out.history.final["test_acc"] > 0.7
    assert all(w.dtype == torch.float32 for w in out.weights.values())


CNN = {"name": "cnn", "channels": [8, 16]}


def test_channels_last_on_a_2d_conv_model_trains_as_the_default_layout():
    nchw = execute(_recipe(CNN))
    nhwc = execute(_recipe(CNN, channels_last=True), RunContext(keep_model=True))
    assert nhwc.status == "done"
    conv = [m for m in nhwc.model.modules() if isinstance(m, torch.nn.Conv2d)][-1]  # 8 -> 16
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    # the same arithmetic in another memory order: equal up to float32 summation order
    assert nhwc.history.step_loss == pytest.approx(nchw.history.step_loss, abs=1e-4)


def test_channels_last_needs_images_and_2d_convolutions():
    flat = Recipe.from_dict({"data": {"name": "mnist1d", "num_samples": 200},
                             "train": {"channels_last": True}})
    with pytest.raises(ConfigError, match="train.channels_last.*images"):
        check_runnable(flat, prepare_data(flat, torch.device("cpu")))
    out = execute(_recipe(channels_last=True))  # an MLP on images: no convolution to convert
    assert out.status == "failed" and "train.channels_last" in out.history.error


def test_trainwell_list_shows_the_speed_options(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    assert "speed  [train] precision, compile, channels_last" in printed
    assert all(name in printed for name in ("bf16", "max-autotune", "channels_last"))
