"""The mlp factory: shapes, structure, every activation, determinism and option errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainwell import init
from trainwell.diagnose import find_layers
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
from trainwell.recipe import Recipe
from trainwell.regularize import DropConnectBlock, DropConnectLinear, Dropout

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
        "batch_norm": False, "dropout": 0.0, "widths": None, "dropout_mode": "inverted",
        "input_dropout": 0.0, "dropconnect": 0.0, "dropconnect_inference": "mean"}


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
    ({"dropconnect": 1.0}, r"model\.dropconnect = 1\.0"),
    ({"input_dropout": 1.0}, r"model\.input_dropout = 1\.0"),
    ({"dropout_mode": "original"}, r"model\.dropout_mode = 'original'.*'scale_at_test'"),
    ({"dropconnect_inference": "sample"}, r"model\.dropconnect_inference = 'sample'"),
    ({"batch_norm": "yes"}, r"model\.batch_norm = 'yes'.*'after'"),
    ({"batch_norm": 1}, r"model\.batch_norm = 1:"),
    ({"dropconnect": 0.5, "activation": "maxout"}, r"model\.dropconnect = 0\.5.*maxout"),
    ({"dropconnect": 0.5, "batch_norm": True}, r"model\.dropconnect = 0\.5.*batch_norm = 'after'"),
    ({"dropconnect": 0.5, "batch_norm": "before"}, r"model\.dropconnect = 0\.5.*batch_norm = 'after'"),
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
    assert [tuple(layer.weight.shape) for layer in model.hidden_layers()] == [(500, 784), (500, 500),
                                                                      (2000, 500)]
    assert model.head.in_features == 2000
    for bad in ([], [3, 0]):
        with pytest.raises(ConfigError, match="model.widths"):
            mlp((1, 40), 10, widths=bad)


def test_dropconnect_layers_are_wrapped_with_their_activation():
    model = mlp((1, 12), 3, depth=3, width=8, activation="tanh", dropconnect=0.4,
                dropconnect_inference="moment")
    blocks = [block.dropconnect for block in model.hidden]
    assert all(isinstance(b, DropConnectBlock) for b in blocks)
    assert all(type(b.layer) is DropConnectLinear and isinstance(b.activation, nn.Tanh) for b in blocks)
    assert all(b.layer.p == 0.4 and b.layer.inference == "moment" for b in blocks)
    assert model.hidden_layers() == [b.layer for b in blocks]
    assert [m for m in model.modules() if isinstance(m, nn.Linear)] == [*model.hidden_layers(), model.head]
    assert model.trainwell_activation == ("tanh", 0.01)


def test_dropconnect_draws_the_same_initial_weights():
    torch.manual_seed(1)
    plain = mlp((1, 12), 3, depth=2, width=8)
    torch.manual_seed(1)
    dropped = mlp((1, 12), 3, depth=2, width=8, dropconnect=0.5)
    for a, b in zip(plain.parameters(), dropped.parameters(), strict=True):
        assert torch.equal(a, b)


def test_dropconnect_masks_weights_while_training_only():
    torch.manual_seed(0)
    model = mlp((1, 12), 3, depth=2, width=8, dropconnect=0.5)
    x = torch.randn(5, 1, 12)
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
    layer = model.hidden_layers()[0]
    assert torch.allclose(model.hidden[0](x.flatten(1)), torch.relu(x.flatten(1) @ (0.5 * layer.weight).T
                                                                     + layer.bias))


def test_dropconnect_model_takes_an_initializer_and_pairs_layers_with_activations():
    model = mlp((1, 40), 10, depth=3, width=64, activation="leaky_relu", negative_slope=0.2,
                dropconnect=0.3, batch_norm="after")
    init.apply_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    for layer in model.hidden_layers():
        expected = math.sqrt(2 / (1 + 0.2**2) / layer.in_features)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.1)
        assert layer.bias.abs().sum().item() == 0
    found = [(layer.name, layer.activation, type(layer.weighted).__name__) for layer in find_layers(model)]
    assert found == [(f"hidden.{i}.dropconnect.layer", "leaky_relu", "DropConnectLinear") for i in range(3)
                     ] + [("head", "none", "Linear")]


@pytest.mark.parametrize("batch_norm,order", [
    (False, ["linear", "act"]), (True, ["linear", "norm", "act"]),
    ("before", ["linear", "norm", "act"]), ("after", ["linear", "act", "norm"]),
])
def test_batch_norm_before_or_after_the_activation(batch_norm, order):
    model = mlp((1, 10), 3, depth=2, width=8, batch_norm=batch_norm, dropout=0.1)
    for block in model.hidden:
        assert [name for name, _ in block.named_children()] == order + ["drop"]
    assert model(torch.randn(6, 1, 10)).shape == (6, 3)


def test_batch_norm_after_normalizes_the_activations_output():
    model = mlp((1, 10), 3, depth=1, width=8, batch_norm="after").train()
    captured = []
    model.hidden[0].norm.register_forward_hook(lambda m, args, out: captured.append((args[0], out)))
    model(torch.randn(64, 1, 10))
    (before, after), = captured
    assert (before >= 0).all()  # the norm's input is relu's output
    assert torch.allclose(after.mean(0), torch.zeros(8), atol=1e-5)


def test_dropconnect_with_batch_norm_after_keeps_the_block_whole():
    model = mlp((1, 10), 3, depth=2, width=8, dropconnect=0.2, batch_norm="after", dropout=0.3)
    assert [name for name, _ in model.hidden[0].named_children()] == ["dropconnect", "norm", "drop"]


@pytest.mark.parametrize("mode,train_scale,eval_scale", [("inverted", 1 / 0.75, 1.0),
                                                         ("scale_at_test", 1.0, 0.75)])
def test_input_dropout_drops_flattened_inputs_in_the_chosen_mode(mode, train_scale, eval_scale):
    model = mlp((2, 5), 3, depth=1, width=4, input_dropout=0.25, dropout_mode=mode)
    assert [name for name, _ in model.named_children()] == ["flatten", "input_drop", "hidden", "head"]
    assert isinstance(model.input_drop, Dropout) and model.input_drop.mode == mode
    seen = []
    model.hidden.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    torch.manual_seed(0)
    model(torch.ones(4000, 2, 5))
    model.eval()(torch.ones(3, 2, 5))
    kept = seen[0][seen[0] != 0]
    assert kept.unique().tolist() == pytest.approx([train_scale])
    assert (seen[0] == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert seen[1].unique().tolist() == pytest.approx([eval_scale])
    # the expected training input equals the test input, in both modes
    assert seen[0].mean().item() == pytest.approx(eval_scale, rel=0.02)


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
def test_dropout_mode_keeps_the_expected_activation(mode):
    torch.manual_seed(0)
    model = mlp((1, 6), 2, depth=1, width=5, dropout=0.4, dropout_mode=mode)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops and all(isinstance(d, Dropout) and d.mode == mode for d in drops)
    x = torch.randn(1, 1, 6).expand(20000, 1, 6)
    train_mean = model.hidden(model.flatten(x)).mean(0)
    test = model.eval().hidden(model.flatten(x[:1]))[0]
    assert torch.allclose(train_mean, test, rtol=0.05, atol=0.01)


def test_new_options_round_trip_through_the_recipe():
    for options in ({"batch_norm": True, "dropconnect": 0.0}, {"batch_norm": "after", "dropconnect": 0.3,
                                                               "dropconnect_inference": "moment"},
                    {"dropout": 0.5, "dropout_mode": "scale_at_test", "input_dropout": 0.2}):
        recipe = Recipe.from_dict({"model": {"name": "mlp", **options}})
        assert Recipe.from_dict(recipe.to_dict()) == recipe
        assert {k: recipe.model.options[k] for k in options} == options
