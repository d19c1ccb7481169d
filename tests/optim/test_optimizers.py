"""Every optimizer name trains a small model; bad names and hyper-parameters are refused."""

import pytest
import torch

from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.optim import OPTIMIZERS, build_optimizer
from trainwell.recipe import Recipe

LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 3e-3,
      "adam": 3e-3, "adamw": 3e-3, "lbfgs": 1.0}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_lr_table_covers_every_optimizer():
    assert set(LR) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_a_small_model(name):
    full_batch = name == "lbfgs"
    r = Recipe.from_dict({
        "data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 32},
        "optim": {"name": name, "lr": LR[name]},
        "train": {"epochs": 4 if full_batch else 3, "batch_size": 4096 if full_batch else 64,
                  "threads": 1, "record_every": 0}})
    h = execute(r).history
    assert h.status == "done"
    first, last = h.epochs[0]["train_loss"], h.epochs[-1]["train_loss"]
    assert last < 0.7 * first, f"{name}: loss {first:.3f} -> {last:.3f}"
    assert h.final["test_acc"] > 0.5


@pytest.mark.parametrize(("name", "options", "key"), [
    ("adamm", {}, "optim.name"),
    ("sgd", {"lr": 0.0}, "optim.lr"),
    ("momentum", {"momentum": 1.0}, "optim.momentum"),
    ("adam", {"betas": [0.9, 1.0]}, "optim.betas.1"),
    ("adam", {"eps": -1e-8}, "optim.eps"),
    ("rmsprop", {"alpha": -0.1}, "optim.alpha"),
    ("adamw", {"weight_decay": -0.01}, "optim.weight_decay"),
    ("lbfgs", {"history_size": 0}, "optim.history_size"),
    ("sgd", {"nesterov": True}, "optim.nesterov"),
])
def test_bad_names_and_hyper_parameters_name_the_key(name, options, key):
    with pytest.raises(ConfigError) as info:
        build_optimizer(name, torch.nn.Linear(2, 1).parameters(), **options)
    assert info.value.key == key


def test_bias_correction_stays_out_of_a_recipe_at_its_default_and_reaches_the_optimizer():
    from trainwell.build import build_to_train

    plain = Recipe.from_dict({"optim": {"name": "adam", "bias_correction": True}}).to_dict()
    assert plain == Recipe.from_dict({"optim": {"name": "adam"}}).to_dict()
    assert "bias_correction" not in plain["optim"]
    off = Recipe.from_dict({"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1},
                            "optim": {"name": "adam", "bias_correction": False}})
    assert off.to_dict()["optim"]["bias_correction"] is False
    assert type(build_to_train(off)[2]).__name__ == "UncorrectedAdam"
    with pytest.raises(ConfigError, match="optim.bias_correction"):
        Recipe.from_dict({"optim": {"name": "sgd", "bias_correction": False}})


def _twenty_steps(name, *, first_bias=True, **options):
    """The parameters of a small batch-norm MLP after 20 steps of optimizer ``name`` (and the
    optimizer's defaults), the same data and initial weights every call."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16, bias=first_bias), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = OPTIMIZERS[name](model.parameters(), lr=LR[name], weight_decay=1e-3, **options)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()], opt.defaults


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"lbfgs"}))
def test_the_multi_tensor_step_gives_the_per_parameter_loops_numbers(name, monkeypatch):
    from trainwell.optim import optimizers

    def train(foreach):
        monkeypatch.setattr(optimizers, "FOREACH", foreach)
        params, defaults = _twenty_steps(name)
        assert defaults["foreach"] is foreach
        return params

    assert all(torch.equal(a, b) for a, b in zip(train(False), train(True), strict=True))


FUSED = ("sgd", "momentum", "nesterov", "adagrad", "adam", "adamw")


@pytest.mark.parametrize("name", FUSED)
def test_the_fused_step_follows_the_same_rule_to_rounding(name):
    """The first layer has no bias: before batch norm a bias's gradient is rounding noise, which
    Adam and AdaGrad scale up to whole steps, so two correct steps would walk it apart."""
    (fused, on), (plain, off) = (_twenty_steps(name, first_bias=False, fused=f) for f in (True, False))
    assert on["fused"] is True and off["fused"] is None
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_fused_stays_out_of_a_recipe_at_its_default_and_is_checked():
    from trainwell.build import build_to_train

    plain = Recipe.from_dict({"optim": {"name": "adamw"}}).to_dict()
    assert plain == Recipe.from_dict({"optim": {"name": "adamw", "fused": False}}).to_dict()
    assert "fused" not in plain["optim"]
    on = Recipe.from_dict({"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1},
                           "optim": {"name": "adam", "fused": True}})
    assert on.to_dict()["optim"]["fused"] is True
    assert build_to_train(on)[2].defaults["fused"] is True
    for optim, key in [({"name": "rmsprop", "fused": True}, "optim.fused"),
                       ({"name": "adam", "fused": True, "bias_correction": False}, "optim.fused"),
                       ({"name": "sgd", "fused": "yes"}, "optim.fused")]:
        with pytest.raises(ConfigError, match=key):
            Recipe.from_dict({"optim": optim})
