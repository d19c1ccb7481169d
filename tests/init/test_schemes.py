"""Every named scheme against its stated law (KS test), orthogonality, and the exact fills."""

import math

import pytest
import torch
from scipy import stats
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init import (
    constant_,
    gain,
    glorot_normal_,
    glorot_uniform_,
    he_normal_,
    he_uniform_,
    lecture_he_,
    lecture_xavier_,
    lecun_normal_,
    lecun_uniform_,
    normal_,
    orthogonal_,
    prettytensor_xavier_,
    torch_default_,
    uniform_,
    zeros_,
)

# (layer, fan_in, fan_out): fan_in != fan_out, so a scheme that takes the wrong fan fails.
LAYERS = {
    "linear": (lambda: nn.Linear(256, 128), 256, 128),
    "conv1d": (lambda: nn.Conv1d(32, 64, 11), 32 * 11, 64 * 11),
    "conv2d": (lambda: nn.Conv2d(16, 32, 7), 16 * 49, 32 * 49),
}
P_MIN = 1e-4


def normal(std, mean=0.0):
    return stats.norm(loc=mean, scale=std).cdf


def uniform(low, high):
    return stats.uniform(loc=low, scale=high - low).cdf


def symmetric_uniform(limit):
    return uniform(-limit, limit)


def truncated(sigma):
    return stats.truncnorm(-2, 2, scale=sigma).cdf


# name -> (scheme, options, law from (fan_in, fan_out)); every law written out from its paper.
CASES = {
    "uniform": (uniform_, {}, lambda i, o: uniform(-1, 1)),
    "uniform_a_b": (uniform_, {"a": -0.5, "b": 2.0}, lambda i, o: uniform(-0.5, 2.0)),
    "normal": (normal_, {}, lambda i, o: normal(0.01)),
    "normal_mean_std": (normal_, {"mean": 0.3, "std": 2.0}, lambda i, o: normal(2.0, mean=0.3)),
    "lecture_xavier": (lecture_xavier_, {}, lambda i, o: normal(1 / math.sqrt(i))),
    "lecture_he": (lecture_he_, {}, lambda i, o: normal(1 / math.sqrt(i / 2))),
    "glorot_uniform": (glorot_uniform_, {}, lambda i, o: symmetric_uniform(math.sqrt(6 / (i + o)))),
    "glorot_uniform_gain": (glorot_uniform_, {"gain": 5 / 3},
                            lambda i, o: symmetric_uniform(5 / 3 * math.sqrt(6 / (i + o)))),
    "glorot_normal": (glorot_normal_, {}, lambda i, o: normal(math.sqrt(2 / (i + o)))),
    "he_uniform": (he_uniform_, {}, lambda i, o: symmetric_uniform(math.sqrt(6 / i))),
    "he_uniform_fan_out_tanh": (he_uniform_, {"nonlinearity": "tanh", "mode": "fan_out"},
                                lambda i, o: symmetric_uniform(5 / 3 * math.sqrt(3 / o))),
    "he_normal": (he_normal_, {}, lambda i, o: normal(math.sqrt(2 / i))),
    "he_normal_fan_out": (he_normal_, {"mode": "fan_out"}, lambda i, o: normal(math.sqrt(2 / o))),
    "he_normal_leaky_0.2": (he_normal_, {"nonlinearity": "leaky_relu", "negative_slope": 0.2},
                            lambda i, o: normal(math.sqrt(2 / (1 + 0.2**2) / i))),
    "he_normal_selu": (he_normal_, {"nonlinearity": "selu"}, lambda i, o: normal(0.75 / math.sqrt(i))),
    "lecun_uniform": (lecun_uniform_, {}, lambda i, o: symmetric_uniform(math.sqrt(3 / i))),
    "lecun_normal": (lecun_normal_, {}, lambda i, o: normal(1 / math.sqrt(i))),
    "prettytensor_xavier": (prettytensor_xavier_, {}, lambda i, o: symmetric_uniform(math.sqrt(6 / (i + o)))),
    "prettytensor_xavier_normal": (prettytensor_xavier_, {"uniform": False},
                                   lambda i, o: truncated(math.sqrt(3 / (i + o)))),
    "torch_default": (torch_default_, {}, lambda i, o: symmetric_uniform(1 / math.sqrt(i))),
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("case", CASES)
def test_scheme_follows_its_law(case, layer):
    scheme, options, law = CASES[case]
    make, fan_in, fan_out = LAYERS[layer]
    w = make().weight
    out = scheme(w, **options, generator=torch.Generator().manual_seed(2024))
    assert out is w
    p = stats.kstest(w.detach().flatten().double().numpy(), law(fan_in, fan_out)).pvalue
    assert p > P_MIN, f"{case} on {layer}: KS p = {p:.2e}"


@pytest.mark.parametrize("case", CASES)
def test_scheme_is_reproducible_with_a_generator(case):
    scheme, options, _ = CASES[case]
    a = scheme(torch.empty(32, 48), **options, generator=torch.Generator().manual_seed(9))
    b = scheme(torch.empty(32, 48), **options, generator=torch.Generator().manual_seed(9))
    c = scheme(torch.empty(32, 48), **options, generator=torch.Generator().manual_seed(10))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_he_normal_std_follows_the_leaky_slope():
    stds = {}
    for slope in (0.0, 0.2, 0.5, 1.0):
        w = he_normal_(torch.empty(128, 256), nonlinearity="leaky_relu", negative_slope=slope,
                       generator=torch.Generator().manual_seed(4))
        stds[slope] = w.std().item()
        assert stds[slope] == pytest.approx(math.sqrt(2 / (1 + slope**2) / 256), rel=0.015)
    assert stds[0.0] > stds[0.2] > stds[0.5] > stds[1.0]
    # slope 1 makes leaky_relu the identity, and its gain 1.
    assert stds[1.0] == pytest.approx(1 / 16, rel=0.015)


def test_bare_tensor_defaults_to_relu_gain():
    g = torch.Generator().manual_seed(8)
    default = he_normal_(torch.empty(64, 100), generator=g)
    relu = he_normal_(torch.empty(64, 100), nonlinearity="relu", generator=torch.Generator().manual_seed(8))
    assert torch.equal(default, relu)


def test_lecture_xavier_is_lecun_normal():
    a = lecture_xavier_(torch.empty(20, 30), generator=torch.Generator().manual_seed(1))
    b = lecun_normal_(torch.empty(20, 30), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_torch_default_matches_kaiming_uniform_sqrt5():
    a = torch_default_(torch.empty(20, 30), generator=torch.Generator().manual_seed(1))
    b = torch.nn.init.kaiming_uniform_(torch.empty(20, 30), a=math.sqrt(5),
                                       generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_prettytensor_truncated_normal_std_is_below_its_sigma():
    w = prettytensor_xavier_(torch.empty(128, 256), uniform=False, generator=torch.Generator().manual_seed(3))
    sigma = math.sqrt(3 / (128 + 256))
    assert w.abs().max().item() <= 2 * sigma
    assert w.std().item() == pytest.approx(0.8796 * sigma, rel=0.02)


# weight shapes seen as (out, in * kernel): wide when out <= in * kernel, tall otherwise.
ORTHO_LAYERS = {
    "linear_wide": lambda: nn.Linear(256, 128),
    "linear_tall": lambda: nn.Linear(64, 256),
    "conv2d_wide": lambda: nn.Conv2d(16, 32, 5),
    "conv1d_tall": lambda: nn.Conv1d(8, 64, 3),
    "square": lambda: nn.Linear(50, 50),
}


@pytest.mark.parametrize("layer", ORTHO_LAYERS)
@pytest.mark.parametrize("nonlinearity,slope", [("linear", None), ("relu", None), ("tanh", None),
                                                ("leaky_relu", 0.2), (None, None)])
def test_orthogonal_is_orthogonal_times_gain(layer, nonlinearity, slope):
    w = ORTHO_LAYERS[layer]().weight
    orthogonal_(w, nonlinearity=nonlinearity, negative_slope=slope,
                generator=torch.Generator().manual_seed(5))
    g = gain(nonlinearity or "relu", negative_slope=0.01 if slope is None else slope)
    m = w.detach().flatten(1).double()
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    assert torch.allclose(gram, g**2 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-4)


def test_orthogonal_rows_of_a_tall_weight_are_not_orthonormal():
    # a tall weight has more rows than dimensions: only its columns can be orthonormal.
    m = orthogonal_(torch.empty(256, 64), nonlinearity="linear", generator=torch.Generator().manual_seed(5))
    assert not torch.allclose(m @ m.T, torch.eye(256), atol=1e-2)


def test_zeros_and_constant_are_exact():
    w = nn.Conv2d(3, 4, 3).weight
    assert zeros_(w) is w
    assert torch.count_nonzero(w) == 0
    constant_(w, value=0.25)
    assert torch.equal(w, torch.full_like(w, 0.25))


def test_uniform_needs_a_below_b():
    with pytest.raises(ConfigError, match=r"init\.b = 0\.0"):
        uniform_(torch.empty(3, 3), a=1.0, b=0.0)
    with pytest.raises(ConfigError, match=r"init\.b"):
        uniform_(torch.empty(3, 3), a=0.5, b=0.5)


@pytest.mark.parametrize("std", [0.0, -0.01])
def test_normal_needs_a_positive_std(std):
    with pytest.raises(ConfigError, match=r"init\.std"):
        normal_(torch.empty(3, 3), std=std)


@pytest.mark.parametrize("scheme", [lecture_he_, glorot_uniform_, he_normal_, prettytensor_xavier_,
                                    torch_default_, orthogonal_])
def test_fan_schemes_need_a_weight_of_two_dimensions(scheme):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        scheme(torch.empty(5))
