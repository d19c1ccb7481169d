"""Dropout: both placements of the 1 / (1 − p) correction keep the expected activation."""

import pytest
import torch
from scipy.stats import binomtest
from torch import nn

from trainwell.errors import ConfigError
from trainwell.regularize import Dropout, dropout


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_the_expected_training_activation_is_the_eval_activation(mode, p):
    torch.manual_seed(0)
    x = torch.randn(50)
    n, q = 4000, 1 - p
    layer = Dropout(p, mode=mode)
    layer.generator = torch.Generator().manual_seed(1)
    samples = layer(x.expand(n, -1))  # n independent masks: the mask is elementwise
    expected = layer.eval()(x)
    # one draw is x·m/q (var x²·p/q) or x·m (var x²·p·q); five standard errors of the mean
    var = x * x * (p / q if mode == "inverted" else p * q)
    assert ((samples.mean(0) - expected).abs() <= 5 * (var / n).sqrt() + 1e-6).all()
    kept = samples != 0
    scale = 1 / q if mode == "inverted" else 1.0
    assert torch.allclose(samples[kept], (x * scale).expand(n, -1)[kept])


def test_each_element_is_dropped_with_probability_p():
    layer = Dropout(0.3)
    layer.generator = torch.Generator().manual_seed(0)
    out = layer(torch.ones(8, 3, 5, 7))  # any shape
    assert out.shape == (8, 3, 5, 7)
    dropped = int((out == 0).sum())
    assert binomtest(dropped, out.numel(), 0.3).pvalue > 1e-4


@pytest.mark.parametrize("mode, factor", [("inverted", 1.0), ("scale_at_test", 0.6)])
def test_eval_is_deterministic(mode, factor):
    x = torch.randn(3, 4)
    layer = Dropout(0.4, mode=mode).eval()
    assert torch.equal(layer(x), layer(x))
    assert torch.allclose(layer(x), x * factor)


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
def test_p_zero_is_the_identity(mode):
    x = torch.randn(10, 10)
    layer = Dropout(0.0, mode=mode)
    assert torch.equal(layer(x), x)
    assert torch.equal(layer.eval()(x), x)


def test_it_is_an_nn_dropout_and_its_generator_makes_it_reproducible():
    layer = Dropout(0.5)
    assert isinstance(layer, nn.Dropout)
    x = torch.ones(100)
    layer.generator = torch.Generator().manual_seed(3)
    first = layer(x)
    layer.generator = torch.Generator().manual_seed(3)
    assert torch.equal(first, layer(x))
    assert not torch.equal(first, layer(x))


@pytest.mark.parametrize("p", [1.0, -0.1, float("nan"), True])
def test_a_bad_probability_raises_a_config_error(p):
    with pytest.raises(ConfigError, match=r"a probability in \[0, 1\)"):
        Dropout(p)
    with pytest.raises(ConfigError, match="regularize.dropout.p"):
        dropout(torch.ones(2), p, training=True)


def test_a_bad_mode_lists_the_modes():
    with pytest.raises(ConfigError, match="'inverted', 'scale_at_test'"):
        Dropout(0.5, mode="scaled")
