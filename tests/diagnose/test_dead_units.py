"""Dead units are counted only behind activations that have a zero-gradient region."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell.diagnose import diagnose, probe
from trainwell.diagnose.layers import can_die
from trainwell.init import apply_
from trainwell.models import build_model


def negative_bias_net(digits, activation, **options):
    x, y = digits
    torch.manual_seed(0)
    net = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, activation=activation,
                      depth=4, width=64, **options)
    apply_(net, "he_normal", bias=-5.0, generator=torch.Generator().manual_seed(0))
    return diagnose(net, x, y, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


def test_relu_with_large_negative_biases_is_dead(digits):
    d = negative_bias_net(digits, "relu")
    assert "dead" in [v.kind for v in d.verdicts]
    assert all(s.dead_fraction >= 0.5 for s in d.layers[1:-1])


@pytest.mark.parametrize("activation, options", [
    ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}), ("selu", {}), ("gelu", {}),
])
def test_units_that_pass_a_negative_gradient_are_never_called_dead(digits, activation, options):
    d = negative_bias_net(digits, activation, **options)
    assert "dead" not in [v.kind for v in d.verdicts]
    assert all(s.dead_fraction is None for s in d.layers)
    assert not any("never fire" in str(v) for v in d.verdicts)


def test_leaky_relu_of_slope_zero_is_relu_and_can_die(digits):
    d = negative_bias_net(digits, "leaky_relu", negative_slope=0.0)
    assert "dead" in [v.kind for v in d.verdicts]


@pytest.mark.parametrize("module, dies", [
    (nn.ReLU(), True), (nn.ReLU6(), True), (nn.LeakyReLU(0.0), True),
    (nn.LeakyReLU(0.2), False), (nn.ELU(), False), (nn.SELU(), False), (nn.GELU(), False),
    (nn.SiLU(), False), (nn.CELU(), False), (nn.PReLU(), False), (nn.Mish(), False),
    (nn.Sigmoid(), False), (nn.Tanh(), False),
])
def test_dead_fraction_is_measured_only_where_a_unit_can_die(module, dies):
    assert can_die(module) is dies
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), module, nn.Linear(8, 3))
    with torch.no_grad():
        net[0].bias.fill_(-100.0)
    first = probe(net, torch.randn(64, 4), targets=torch.zeros(64, dtype=torch.long)).layers[0]
    assert first.dead_fraction == (1.0 if dies else None)
