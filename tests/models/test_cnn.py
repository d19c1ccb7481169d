"""The cnn factory: 1-D and 2-D shapes, blocks, pooling, every activation and option errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models import ACTIVATIONS, CNN, MaxoutConv, build_model, cnn, validate_model_options

SHAPES = [(1, 40), (1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_output_shape_and_conv_kind(shape):
    model = cnn(shape, 7, channels=[4, 8])
    assert model(torch.randn(5, *shape)).shape == (5, 7)
    kind = nn.Conv1d if len(shape) == 2 else nn.Conv2d
    convs = model.hidden_layers()
    assert [type(c) for c in convs] == [kind, kind]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(shape[0], 4), (4, 8)]
    assert model.head.in_features == 8 and model.head.out_features == 7


@pytest.mark.parametrize("shape", SHAPES)
def test_default_model_output_shape(shape):
    assert cnn(shape, 10)(torch.randn(4, *shape)).shape == (4, 10)


@pytest.mark.parametrize("shape", [(2, 40), (2, 9, 9)])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_runs_forward_and_backward(name, shape):
    torch.manual_seed(0)
    model = cnn(shape, 3, channels=[4, 4], kernel_size=3, activation=name, negative_slope=0.2,
                batch_norm=True, dropout=0.1)
    assert model.trainwell_activation == (name, 0.2)
    loss = nn.functional.cross_entropy(model(torch.randn(4, *shape)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    first = model.hidden_layers()[0].weight.grad
    assert first is not None and torch.isfinite(first).all() and first.abs().sum() > 0


@pytest.mark.parametrize("shape", [(1, 10), (1, 6, 7)])
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_same_padding_keeps_spatial_size(shape, kernel_size):
    model = cnn(shape, 3, channels=[2, 3], kernel_size=kernel_size, pool="none")
    assert model.features(torch.randn(2, *shape)).shape == (2, 3, *shape[1:])


def test_pool_only_while_spatial_size_allows():
    model = cnn((1, 5, 5), 3, channels=[2, 2, 2, 2])
    pools = [hasattr(block, "pool") for block in model.features]
    assert pools == [True, True, False, False]  # 5 -> 2 -> 1, then no more pooling
    assert model.features(torch.randn(1, 1, 5, 5)).shape == (1, 2, 1, 1)


@pytest.mark.parametrize("pool,kinds", [
    ("max", (nn.MaxPool1d, nn.MaxPool2d)), ("avg", (nn.AvgPool1d, nn.AvgPool2d)), ("none", ()),
])
@pytest.mark.parametrize("shape", [(1, 16), (1, 16, 16)])
def test_pool_kind(pool, kinds, shape):
    model = cnn(shape, 3, channels=[2, 2], pool=pool)
    pools = [m for m in model.modules() if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d,
                                                          nn.AvgPool2d))]
    assert len(pools) == (2 if kinds else 0)
    assert all(isinstance(p, kinds[len(shape) - 2]) for p in pools)


@pytest.mark.parametrize("batch_norm,dropout", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_batch_norm_and_dropout_only_when_asked(batch_norm, dropout):
    model = cnn((3, 8, 8), 3, channels=[4, 4, 4], batch_norm=batch_norm, dropout=dropout)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(norms) == (3 if batch_norm else 0)
    assert [d.p for d in drops] == ([dropout] if dropout else [])


def test_maxout_blocks():
    model = cnn((1, 40), 3, channels=[4, 6], activation="maxout", maxout_k=3)
    assert all(isinstance(block.maxout, MaxoutConv) for block in model.features)
    assert [c.out_channels for c in model.hidden_layers()] == [12, 18]
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert model(torch.randn(2, 1, 40)).shape == (2, 3)


def test_deterministic_given_seed():
    def build():
        torch.manual_seed(5)
        return cnn((1, 8, 8), 10, batch_norm=True)
    a, b = build(), build()
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(a(x), b(x))
    assert all(torch.equal(va, vb) for va, vb in zip(a.state_dict().values(), b.state_dict().values(),
                                                      strict=True))


def test_build_model_by_name_and_default_channels_untouched():
    model = build_model("cnn", input_shape=(1, 40), num_classes=10)
    assert isinstance(model, CNN)
    assert [c.out_channels for c in model.hidden_layers()] == [32, 64]
    assert validate_model_options("cnn", {})["channels"] == [32, 64]
    assert cnn((1, 40), 10, channels=(3,)).hidden_layers()[0].out_channels == 3


@pytest.mark.parametrize("options,match", [
    ({"kernel_size": 4}, r"model\.kernel_size = 4: expected an odd"),
    ({"kernel_size": 0}, r"model\.kernel_size = 0"),
    ({"channels": []}, r"model\.channels = \[\]"),
    ({"channels": [8, 0]}, r"model\.channels\.1 = 0"),
    ({"pool": "maximum"}, r"model\.pool = 'maximum'"),
    ({"dropout": 1.0}, r"model\.dropout = 1\.0"),
    ({"activation": "gleu"}, r"model\.activation = 'gleu'.*did you mean 'gelu'"),
    ({"maxout_k": 0}, r"model\.maxout_k = 0"),
])
def test_bad_options_name_their_key(options, match):
    with pytest.raises(ConfigError, match=match):
        build_model("cnn", input_shape=(1, 40), num_classes=10, **options)


@pytest.mark.parametrize("shape", [(40,), (1, 2, 3, 4)])
def test_input_must_be_1d_or_2d(shape):
    with pytest.raises(ConfigError, match=r"model\.input_shape.*2 or 3"):
        cnn(shape, 10)
