"""variance_scaling_, fans and gain: against torch, scipy's exact laws and the documented claims."""

import math

import pytest
import torch
from scipy import stats
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init import fans, gain, variance_scaling_
from trainwell.init.variance import TRUNCATED_STD

# (layer, fan_in, fan_out) with fan_in != fan_out, each weight >= 20k elements.
LAYERS = {
    "linear": (lambda: nn.Linear(256, 128), 256, 128),
    "conv1d": (lambda: nn.Conv1d(32, 64, 11), 32 * 11, 64 * 11),
    "conv2d": (lambda: nn.Conv2d(16, 32, 7), 16 * 49, 32 * 49),
}
P_MIN = 1e-4


def ks_pvalue(tensor, cdf):
    return stats.kstest(tensor.detach().flatten().double().numpy(), cdf).pvalue


def law(distribution, std):
    """The exact law of ``variance_scaling_`` values with standard deviation ``std``."""
    if distribution == "normal":
        return stats.norm(scale=std).cdf
    if distribution == "uniform":
        limit = math.sqrt(3) * std
        return stats.uniform(loc=-limit, scale=2 * limit).cdf
    sigma = std / TRUNCATED_STD
    return stats.truncnorm(-2, 2, scale=sigma).cdf


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["normal", "truncated_normal", "uniform"])
def test_variance_scaling_follows_its_law(layer, mode, distribution):
    make, fan_in, fan_out = LAYERS[layer]
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    w = make().weight
    variance_scaling_(w, scale=2.5, mode=mode, distribution=distribution,
                      generator=torch.Generator().manual_seed(11))
    std = math.sqrt(2.5 / n)
    assert ks_pvalue(w, law(distribution, std)) > P_MIN
    assert w.std().item() == pytest.approx(std, rel=0.02)


def test_ks_check_rejects_a_five_percent_error_in_std():
    w = variance_scaling_(torch.empty(128, 256), generator=torch.Generator().manual_seed(0))
    assert ks_pvalue(w, law("normal", 1.05 / 16)) < P_MIN
    assert ks_pvalue(w, law("uniform", 1 / 16)) < P_MIN


def test_truncated_std_matches_scipy_and_keras():
    assert TRUNCATED_STD == pytest.approx(stats.truncnorm(-2, 2).std(), abs=1e-12)
    assert TRUNCATED_STD == pytest.approx(0.87962566103423978, abs=1e-12)


def test_truncated_normal_stays_within_two_sigma():
    w = variance_scaling_(torch.empty(128, 256), distribution="truncated_normal",
                          generator=torch.Generator().manual_seed(1))
    assert w.abs().max().item() <= 2 * (1 / 16) / TRUNCATED_STD
    assert w.abs().max().item() > 1.9 * (1 / 16) / TRUNCATED_STD


def test_variance_scaling_is_in_place_and_seeded():
    w = torch.empty(64, 32)
    out = variance_scaling_(w, generator=torch.Generator().manual_seed(3))
    assert out is w
    again = variance_scaling_(torch.empty(64, 32), generator=torch.Generator().manual_seed(3))
    assert torch.equal(w, again)


@pytest.mark.parametrize("bad", [{"scale": 0.0}, {"scale": -1.0}, {"mode": "fan_sum"},
                                 {"distribution": "cauchy"}])
def test_variance_scaling_rejects_bad_options(bad):
    key = f"init.{next(iter(bad))}"
    with pytest.raises(ConfigError, match=key):
        variance_scaling_(torch.empty(4, 4), **bad)


@pytest.mark.parametrize("module", [
    nn.Linear(256, 128), nn.Conv1d(8, 64, 7), nn.Conv2d(16, 32, 5), nn.Conv3d(3, 5, (2, 3, 4)),
    nn.Conv2d(16, 32, 3, groups=4), nn.Linear(1, 7),
], ids=repr)
def test_fans_match_torch(module):
    assert fans(module.weight) == torch.nn.init._calculate_fan_in_and_fan_out(module.weight)


def test_fans_by_hand():
    assert fans(nn.Conv1d(8, 64, 7).weight) == (8 * 7, 64 * 7)
    assert fans(nn.Conv2d(16, 32, 5).weight) == (16 * 25, 32 * 25)
    assert fans(nn.Linear(256, 128).weight) == (256, 128)


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fans(torch.empty(5))


def test_empty_weight_is_left_alone():
    w = torch.empty(0, 4)
    assert variance_scaling_(w) is w


GAINS = {
    "identity": 1.0, "linear": 1.0, "sigmoid": 1.0, "tanh": 5 / 3, "relu": math.sqrt(2),
    "leaky_relu": math.sqrt(2 / (1 + 0.01**2)), "selu": 0.75, "elu": math.sqrt(2),
    "gelu": math.sqrt(2), "softsign": 1.0, "maxout": 1.0,
}


@pytest.mark.parametrize("name", GAINS)
def test_gain_values(name):
    assert gain(name) == pytest.approx(GAINS[name], abs=1e-12)


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0])
def test_gain_agrees_with_torch(name, slope):
    assert gain(name, negative_slope=slope) == pytest.approx(torch.nn.init.calculate_gain(name, slope))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 3.0])
def test_leaky_relu_gain_keeps_the_second_moment(slope):
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    second = torch.nn.functional.leaky_relu(z, slope).pow(2).mean().item()
    assert gain("leaky_relu", negative_slope=slope) == pytest.approx(1 / math.sqrt(second), rel=0.01)


def test_two_piece_maxout_keeps_the_second_moment():
    pieces = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    second = pieces.amax(dim=1).pow(2).mean().item()
    assert gain("maxout") == pytest.approx(1 / math.sqrt(second), rel=0.01)


@pytest.mark.parametrize("name", ["elu", "gelu"])
def test_elu_and_gelu_gain_is_relus_for_large_inputs(name):
    z = 100 * torch.randn(400_000, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    f = getattr(torch.nn.functional, name)
    second = f(z).pow(2).mean().item() / 100**2
    assert gain(name) == pytest.approx(1 / math.sqrt(second), rel=0.01)


def test_unknown_nonlinearity_names_the_key_and_a_near_miss():
    with pytest.raises(ConfigError, match=r"init\.nonlinearity = 'rleu'.*did you mean 'relu'"):
        gain("rleu")
