"""A model without ``trainwell_activation`` gets the gain of the activation modules it has."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.init import apply_, gain
from trainwell.init.model_activation import activation_kinds
from trainwell.models import build_model

SOURCE = '''
from torch import nn

def tanh_net(input_shape, num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 256),
                         nn.Tanh(), nn.Linear(256, num_classes))

def leaky_net(input_shape, num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.LeakyReLU(0.2),
                         nn.Linear(256, num_classes))

def mixed_net(input_shape, num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256),
                         nn.Tanh(), nn.Linear(256, num_classes))
'''


@pytest.fixture
def nets(importable):
    """A module ``tw_act_nets`` of user factories, importable from a temporary folder."""
    return importable("tw_act_nets", SOURCE)


def user_model(spec):
    return build_model(spec, input_shape=(1, 8, 8), num_classes=10)


def he_pvalue(model, expected_gain, **options):
    """KS p-value of the second Linear's weights against He's N(0, gain² / fan_in)."""
    apply_(model, "he_normal", generator=torch.Generator().manual_seed(3), **options)
    w = model[3].weight.detach()
    std = expected_gain / math.sqrt(w.shape[1])
    return stats.kstest(w.flatten().double().numpy(), stats.norm(scale=std).cdf).pvalue


def test_a_tanh_user_model_gets_the_tanh_gain(nets):
    model = user_model(f"{nets}:tanh_net")
    assert not hasattr(model, "trainwell_activation")
    assert he_pvalue(model, 5 / 3) > 1e-4
    assert he_pvalue(user_model(f"{nets}:tanh_net"), math.sqrt(2)) < 1e-4, "relu's gain differs"
    w = model[3].weight.detach()
    assert w.std().item() == pytest.approx(5 / 3 / math.sqrt(256), rel=0.02)


def test_a_leaky_relu_user_model_gets_its_own_slope(nets):
    assert he_pvalue(user_model(f"{nets}:leaky_net"), gain("leaky_relu", negative_slope=0.2)) > 1e-4


def test_a_mixed_model_needs_init_nonlinearity(nets):
    with pytest.raises(ConfigError) as info:
        apply_(user_model(f"{nets}:mixed_net"), "he_normal")
    assert info.value.key == "init.nonlinearity" and info.value.value is None
    assert "relu, tanh" in str(info.value) and "leaky_relu" in str(info.value)
    assert he_pvalue(user_model(f"{nets}:mixed_net"), 5 / 3, nonlinearity="tanh") > 1e-4
    apply_(user_model(f"{nets}:mixed_net"), "glorot_uniform")  # no nonlinearity option: no need


@pytest.mark.parametrize("model, why", [
    (nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2)), "no activation module"),
    (nn.Sequential(nn.Linear(4, 4), nn.SiLU(), nn.Linear(4, 2)), "silu, whose gain is not known"),
    (nn.Sequential(nn.Linear(4, 4), nn.Hardswish(), nn.Linear(4, 2)), "hardswish"),
    (nn.Sequential(nn.Linear(4, 4), nn.LeakyReLU(0.1), nn.Linear(4, 4), nn.LeakyReLU(0.3)),
     "leaky_relu(0.1), leaky_relu(0.3)"),
])
def test_an_activation_that_cannot_be_inferred_is_asked_for(model, why):
    with pytest.raises(ConfigError, match=r"init\.nonlinearity = None") as info:
        apply_(model, "he_uniform")
    assert why in str(info.value)
    apply_(model, "he_uniform", nonlinearity="relu")


def test_placeholders_and_softmax_are_not_activations():
    model = nn.Sequential(nn.Linear(4, 4), nn.Identity(), nn.ELU(), nn.Linear(4, 3), nn.Softmax(1))
    assert activation_kinds(model) == [("elu", None)]


def test_a_declared_activation_wins_over_the_modules():
    model = nn.Sequential(nn.Linear(256, 128), nn.ReLU())
    model.trainwell_activation = ("tanh", None)
    apply_(model, "orthogonal")
    w = model[0].weight.detach().double()
    assert torch.allclose(w @ w.T, (5 / 3) ** 2 * torch.eye(128, dtype=torch.float64), atol=1e-4)


def test_a_recipe_with_a_mixed_user_model_names_the_key(nets, tmp_path, capsys):
    base = ["diagnose", "--set", f"model.name={nets}:mixed_net", "--set", "data.name=digits",
            "--set", "train.threads=1", "--out", str(tmp_path / "diag")]
    assert main(base) == 2
    assert "init.nonlinearity" in capsys.readouterr().err
    assert main([*base, "--set", "init.nonlinearity=tanh"]) == 0
