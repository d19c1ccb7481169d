"""Activations by name against torch.nn.functional, and Maxout against a manual max over pieces."""

from __future__ import annotations

import typing

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models import ACTIVATIONS, Maxout, MaxoutConv, make_activation
from trainwell.models.activations import ActivationName

REFERENCE = {
    "identity": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: torch.where(x > 0, x, 0.2 * x),
    "elu": lambda x: torch.where(x > 0, x, torch.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * torch.where(x > 0, x, 1.6732632423543772 * torch.expm1(x)),
    "gelu": lambda x: x * 0.5 * (1 + torch.erf(x / 2**0.5)),
    "softsign": lambda x: x / (1 + x.abs()),
}


def test_table_matches_literal_and_covers_every_name():
    assert set(ACTIVATIONS) == set(typing.get_args(ActivationName))
    assert set(ACTIVATIONS) == set(REFERENCE) | {"maxout"}
    assert all(isinstance(d, str) and d and "\n" not in d for d in ACTIVATIONS.values())


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_matches_formula(name):
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    act = make_activation(name, negative_slope=0.2)
    assert isinstance(act, nn.Module)
    torch.testing.assert_close(act(x), REFERENCE[name](x))


def test_each_call_returns_a_new_module():
    assert make_activation("relu") is not make_activation("relu")


def test_leaky_slope_is_used():
    x = torch.tensor([-2.0, 3.0])
    assert make_activation("leaky_relu", negative_slope=0.5)(x).tolist() == [-1.0, 3.0]
    assert make_activation("leaky_relu")(x).tolist() == pytest.approx([-0.02, 3.0])


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"model\.activation = 'rleu'.*did you mean 'relu'"):
        make_activation("rleu")


def test_maxout_is_not_elementwise():
    with pytest.raises(ConfigError, match="maxout is a layer"):
        make_activation("maxout")


def test_negative_slope_below_zero_is_rejected():
    with pytest.raises(ConfigError, match=r"model\.negative_slope = -0\.1"):
        make_activation("leaky_relu", negative_slope=-0.1)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_maxout_equals_manual_max_over_pieces(k):
    torch.manual_seed(0)
    layer = Maxout(6, 4, k=k)
    x = torch.randn(7, 6)
    w, b = layer.linear.weight, layer.linear.bias
    assert w.shape == (4 * k, 6)
    expected = torch.stack([
        torch.stack([x @ w[i * k + j] + b[i * k + j] for j in range(k)]).max(dim=0).values
        for i in range(4)
    ], dim=1)
    torch.testing.assert_close(layer(x), expected)


def test_maxout_gradient_flows_only_to_the_winning_piece():
    layer = Maxout(1, 1, k=2)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        layer.linear.bias.zero_()
    layer(torch.tensor([[3.0]])).sum().backward()
    assert layer.linear.weight.grad.flatten().tolist() == [3.0, 0.0]


@pytest.mark.parametrize("dims", [1, 2])
def test_maxout_conv_equals_manual_max_over_pieces(dims):
    torch.manual_seed(0)
    layer = MaxoutConv(3, 4, 3, k=3, dims=dims, padding=1)
    x = torch.randn(2, 3, *([9] * dims))
    conv = F.conv1d if dims == 1 else F.conv2d
    pieces = conv(x, layer.conv.weight, layer.conv.bias, padding=1)
    expected = torch.stack([pieces[:, 3 * i:3 * i + 3].max(dim=1).values for i in range(4)], dim=1)
    torch.testing.assert_close(layer(x), expected)
    assert isinstance(layer.conv, (nn.Conv1d, nn.Conv2d)[dims - 1])


def test_maxout_needs_two_pieces():
    with pytest.raises(ConfigError, match=r"model\.maxout_k = 1"):
        Maxout(3, 2, k=1)
    with pytest.raises(ConfigError, match=r"model\.maxout_k = 1"):
        MaxoutConv(3, 2, 3, k=1)
