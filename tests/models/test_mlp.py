"""The mlp factory: shapes, structure, every activation, determinism and option errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models import (
    ACTIVATIONS,
    MLP,
    Maxout,
    build_model,
    mlp,
    model_options_fn,
    validate_model_options,
)

SHAPES = [(1, 40), (1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_output_shape(shape):
    model = mlp(shape, 7, depth=2, width=16)
    assert model(torch.randn(5, *shape)).shape == (5, 7)
    assert model.hidden_layers()[0].in_features == torch.Size(shape).numel()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_runs_forward_and_backward(name):
    torch.manual_seed(0)
    model = mlp((1, 12), 3, depth=2, width=8, activation=name, negative_slope=0.1, maxout_k=3)
    assert model.trainwell_activation == (name, 0.1)
    x = torch.randn(6, 1, 12)
    loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    first = model.hidden_layers()[0].weight.grad
    assert first is not None and torch.isfinite(first).all() and first.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_hidden_layers_in_forward_order(depth):
    model = mlp((2, 5), 4, depth=depth, width=9)
    layers = model.hidden_layers()
    assert len(layers) == depth
    assert all(type(layer) is nn.Linear for layer in layers)
    assert [layer.in_features for layer in layers] == [10] + [9] * (depth - 1)
    assert [layer.out_features for layer in layers] == [9] * depth
    assert model.head.in_features == 9 and model.head.out_features == 4
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears == [*layers, model.head]


def test_maxout_hidden_layers_are_the_pieces_linear():
    model = mlp((1, 10), 3, depth=3, width=6, activation="maxout", maxout_k=4)
    blocks = list(model.hidden)
    assert all(isinstance(b.maxout, Maxout) for b in blocks)
    assert model.hidden_layers() == [b.maxout.linear for b in blocks]
    assert [layer.out_features for layer in model.hidden_layers()] == [24, 24, 24]
    assert model(torch.randn(2, 1, 10)).shape == (2, 3)


@pytest.mark.parametrize("batch_norm,dropout", [(False, 0.0), (True, 0.0), (False, 0.3), (True, 0.5)])
def test_batch_norm_and_dropout_only_when_asked(batch_norm, dropout):
    model = mlp((1, 10), 3, depth=3, width=8, batch_norm=batch_norm, dropout=dropout)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(norms) == (3 if batch_norm else 0)
    assert len(drops) == (3 if dropout else 0)
    assert all(d.p == dropout for d in drops)
    block = list(model.hidden[0].named_children())
    expected = ["linear"] + ["norm"] * batch_norm + ["act"] + ["drop"] * (dropout > 0)
    assert [n for n, _ in block] == expected


def test_deterministic_given_seed():
    def build():
        torch.manual_seed(3)
        return mlp((1, 40), 10, batch_norm=True, dropout=0.2)
    a, b = build(), build()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    torch.manual_seed(4)
    c = mlp((1, 40), 10)
    assert not torch.equal(a.hidden_layers()[0].weight, c.hidden_layers()[0].weight)


def test_build_model_by_name():
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=(1, 40), num_classes=10, depth=4, width=32, activation="tanh")
    assert isinstance(model, MLP) and len(model.hidden_layers()) == 4
    assert model.trainwell_activation == ("tanh", 0.01)
    assert model_options_fn("mlp") is mlp
    assert validate_model_options("mlp", {"width": 8}) == {
        "depth": 3, "width": 8, "activation": "relu", "negative_slope": 0.01, "maxout_k": 2,
        "batch_norm": False, "dropout": 0.0, "widths": None}


@pytest.mark.parametrize("options,match", [
    ({"depth": 0}, r"model\.depth = 0"),
    ({"width": 0}, r"model\.width = 0"),
    ({"dropout": 1.0}, r"model\.dropout = 1\.0"),
    ({"dropout": -0.1}, r"model\.dropout = -0\.1"),
    ({"negative_slope": -1.0}, r"model\.negative_slope = -1\.0"),
    ({"maxout_k": 1}, r"model\.maxout_k = 1"),
    ({"activation": "rleu"}, r"model\.activation = 'rleu'.*did you mean 'relu'"),
    ({"activation": "sigmod"}, r"model\.activation = 'sigmod'.*did you mean 'sigmoid'"),
    ({"depth": "3"}, r"model\.depth = '3'"),
    ({"dpeth": 3}, r"model\.dpeth = 3.*did you mean 'depth'"),
])
def test_bad_options_name_their_key(options, match):
    with pytest.raises(ConfigError, match=match):
        build_model("mlp", input_shape=(1, 40), num_classes=10, **options)
    with pytest.raises(ConfigError, match=match):
        validate_model_options("mlp", options)


def test_direct_call_checks_options_too():
    with pytest.raises(ConfigError, match=r"model\.depth = 0"):
        mlp((1, 40), 10, depth=0)


@pytest.mark.parametrize("shape,classes,key", [
    ((), 10, "input_shape"), ((1, 0), 10, "input_shape"), ((1, 40), 0, "num_classes"),
])
def test_bad_shape_or_classes(shape, classes, key):
    with pytest.raises(ConfigError, match=rf"model\.{key}"):
        mlp(shape, classes)


def test_unknown_model_name_suggests():
    match = r"model\.name = 'mpl'.*did you mean 'mlp'.*package\.module:factory"
    with pytest.raises(ConfigError, match=match):
        build_model("mpl", input_shape=(1, 40), num_classes=10)


def test_widths_give_each_hidden_layer_its_size():
    model = mlp((1, 28, 28), 10, widths=[500, 500, 2000], depth=7)
    assert [tuple(l.weight.shape) for l in model.hidden_layers()] == [(500, 784), (500, 500),
                                                                      (2000, 500)]
    assert model.head.in_features == 2000
    for bad in ([], [3, 0]):
        with pytest.raises(ConfigError, match="model.widths"):
            mlp((1, 40), 10, widths=bad)
