"""DropConnect: masks at rate p, the mean network, moment matching against Monte Carlo."""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import binomtest
from torch import nn

from trainwell.errors import ConfigError
from trainwell.regularize import (
    DropConnectBlock,
    DropConnectConv1d,
    DropConnectConv2d,
    DropConnectLinear,
)
from trainwell.regularize._random import usable


def _mask_of_linear(layer, **kw):
    """The mask of one training forward: with W = 1, b = 0 and x = I, the output is Mᵀ."""
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        return layer.train()(torch.eye(layer.in_features)).T


def _mask_of_conv(layer):
    """One-hot inputs, one per kernel entry, read the whole mask of one forward."""
    c, k = layer.in_channels, layer.kernel_size
    n = c * math.prod(k)
    x = torch.eye(n).reshape(n, c, *k)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        out = layer.train()(x).reshape(n, layer.out_channels)  # one output position per sample
    return out.T.reshape(layer.weight.shape)


@pytest.mark.parametrize("make, read", [
    (lambda: DropConnectLinear(60, 40, p=0.3), _mask_of_linear),
    (lambda: DropConnectConv1d(4, 30, 5, p=0.3), _mask_of_conv),
    (lambda: DropConnectConv2d(3, 20, (3, 4), p=0.3), _mask_of_conv),
])
def test_one_mask_drops_a_fraction_p_of_the_weights_and_each_forward_draws_a_new_one(make, read):
    layer = make()
    layer.generator = torch.Generator().manual_seed(0)
    first, second = read(layer), read(layer)
    assert set(first.unique().tolist()) == {0.0, 1.0}
    dropped = int((first == 0).sum())
    assert binomtest(dropped, first.numel(), 0.3).pvalue > 1e-4
    assert not torch.equal(first, second)


def test_per_sample_masks_differ_between_samples_and_drop_at_rate_p():
    layer = DropConnectLinear(30, 10, p=0.4, per_sample=True)
    layer.generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    out = layer(torch.ones(200, 30))  # row n, unit o: the number of kept weights of (n, o)
    kept = int(out.sum())
    assert binomtest(200 * 10 * 30 - kept, 200 * 10 * 30, 0.4).pvalue > 1e-4
    assert len({tuple(row.tolist()) for row in out}) > 150
    shared = DropConnectLinear(30, 10, p=0.4)
    with torch.no_grad():
        shared.weight.fill_(1.0)
    rows = shared(torch.ones(200, 30))
    assert (rows == rows[0]).all()


def test_per_sample_shares_a_sample_mask_across_its_middle_dimensions():
    layer = DropConnectLinear(6, 4, p=0.5, per_sample=True)
    layer.generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    out = layer(torch.ones(8, 5, 6))  # (sample, position, unit): kept weights of (sample, unit)
    assert out.shape == (8, 5, 4)
    assert (out == out[:, :1]).all()
    assert not (out == out[:1]).all()


def test_the_eval_network_is_the_mean_network():
    torch.manual_seed(0)
    x = torch.randn(4, 7)
    layer = DropConnectLinear(7, 5, p=0.3).eval()
    assert torch.allclose(layer(x), F.linear(x, layer.weight * 0.7, layer.bias), atol=1e-6)
    assert torch.equal(layer(x), layer(x))
    conv = DropConnectConv2d(2, 3, 3, p=0.6, stride=2, padding=1).eval()
    xc = torch.randn(2, 2, 7, 7)
    expected = F.conv2d(xc, conv.weight * 0.4, conv.bias, stride=2, padding=1)
    assert torch.allclose(conv(xc), expected, atol=1e-6)


def _monte_carlo(layer, x, n, generator):
    """Pre-activations of ``n`` masked copies of a Linear ``layer``: shape (n, batch, out)."""
    w, b = layer.weight.detach(), layer.bias.detach()
    masks = torch.empty(n, *w.shape).bernoulli_(1 - layer.p, generator=generator)
    return torch.einsum("soi,bi->sbo", w * masks, x) + b


def test_moment_matching_approaches_monte_carlo_closer_than_the_mean_network():
    torch.manual_seed(0)
    layer = DropConnectLinear(20, 6, p=0.5, inference="moment", samples=2000)
    x = torch.randn(5, 20)
    mc = _monte_carlo(layer, x, 20_000, torch.Generator().manual_seed(1)).relu().mean(0)
    block = DropConnectBlock(layer, nn.ReLU()).eval()
    block.generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        moment = block(x)
        mean_net = layer(x).relu()
    moment_err, mean_err = (moment - mc).abs().mean(), (mean_net - mc).abs().mean()
    assert moment_err < 0.2 * mean_err
    assert moment_err < 0.01


def test_the_moments_are_those_of_the_masked_pre_activation():
    torch.manual_seed(0)
    layer = DropConnectLinear(12, 4, p=0.3)
    x = torch.randn(3, 12)
    n = 20_000
    u = _monte_carlo(layer, x, n, torch.Generator().manual_seed(1))
    with torch.no_grad():
        mean, var = layer.moments(x)
    assert ((u.mean(0) - mean).abs() <= 5 * (var / n).sqrt()).all()
    assert ((u.var(0) / var - 1).abs() < 0.06).all()


def test_conv_moments_match_masked_convolutions_with_reflect_padding():
    torch.manual_seed(0)
    conv = DropConnectConv2d(2, 3, 3, p=0.5, padding=1, padding_mode="reflect")
    x = torch.randn(2, 2, 4, 4)
    n = 4000
    patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3)  # (B, 18, 16)
    w = conv.weight.detach().reshape(3, 18)
    masks = torch.empty(n, 3, 18).bernoulli_(0.5, generator=torch.Generator().manual_seed(1))
    u = torch.einsum("soc,bcl->sbol", w * masks, patches) + conv.bias.detach()[:, None]
    with torch.no_grad():
        mean, var = (t.reshape(2, 3, 16) for t in conv.moments(x))
    assert ((u.mean(0) - mean).abs() <= 5 * (var / n).sqrt() + 1e-6).all()
    assert ((u.var(0) / var - 1).abs() < 0.15).all()


def test_moment_inference_is_the_gaussian_expectation_of_the_activation():
    torch.manual_seed(0)
    layer = DropConnectLinear(10, 3, p=0.5, inference="moment", samples=4000)
    block = DropConnectBlock(layer, nn.ReLU()).eval()
    block.generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 10)
    with torch.no_grad():
        out = block(x)
        mu, var = layer.moments(x)
    sd = var.sqrt()
    normal = torch.distributions.Normal(0.0, 1.0)
    exact = mu * normal.cdf(mu / sd) + sd * normal.log_prob(mu / sd).exp()  # E[relu(N(μ, σ²))]
    assert ((out - exact).abs() <= 5 * sd / math.sqrt(4000)).all()


def test_the_block_is_activation_of_layer_in_training_and_with_mean_inference():
    torch.manual_seed(0)
    layer = DropConnectLinear(6, 4, p=0.5)
    block = DropConnectBlock(layer, nn.Tanh())
    x = torch.randn(3, 6)
    layer.generator = torch.Generator().manual_seed(5)
    trained = block(x)
    layer.generator = torch.Generator().manual_seed(5)
    assert torch.equal(trained, torch.tanh(layer(x)))
    block.eval()
    assert torch.allclose(block(x), torch.tanh(F.linear(x, layer.weight * 0.5, layer.bias)))
    with pytest.raises(TypeError, match="DropConnect layer"):
        DropConnectBlock(nn.Linear(2, 2), nn.ReLU())


def test_the_layers_stay_torch_layers():
    layer = DropConnectLinear(5, 3, p=0.2)
    assert isinstance(layer, nn.Linear)
    assert isinstance(DropConnectConv1d(2, 3, 3), nn.Conv1d)
    assert isinstance(DropConnectConv2d(2, 3, 3), nn.Conv2d)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.orthogonal_(layer.weight)
    assert torch.allclose(layer.weight @ layer.weight.T, torch.eye(3), atol=1e-5)
    layer.reset_parameters()
    plain = nn.Linear(5, 3)
    layer.load_state_dict(plain.state_dict())
    assert set(layer.state_dict()) == {"weight", "bias"}
    double = layer.double()  # nn.Module._apply still works: .to(), .double()
    assert double(torch.ones(2, 5, dtype=torch.float64)).dtype == torch.float64
    assert "p=0.2" in repr(layer) and "in_features=5" in repr(layer)


def test_a_generator_on_another_device_is_not_used():
    g = torch.Generator()
    assert usable(g, torch.device("cpu")) is g
    assert usable(g, torch.device("cuda", 0)) is None
    assert usable(None, torch.device("cpu")) is None


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="regularize.dropconnect.per_sample"):
        DropConnectConv2d(2, 3, 3, per_sample=True)
    with pytest.raises(ConfigError, match="regularize.dropconnect.per_sample"):
        DropConnectConv1d(2, 3, 3, per_sample=True)
    with pytest.raises(ConfigError, match=r"a probability in \[0, 1\)"):
        DropConnectLinear(3, 2, p=1.0)
    with pytest.raises(ConfigError, match="'mean', 'moment'"):
        DropConnectLinear(3, 2, inference="sample")
    with pytest.raises(ConfigError, match="an integer >= 1"):
        DropConnectLinear(3, 2, samples=0)
