"""The cnn factory: 1-D and 2-D shapes, blocks, pooling, every activation and option errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell import init
from trainwell.diagnose import find_layers
from trainwell.errors import ConfigError
from trainwell.models import (
    ACTIVATIONS,
    CNN,
    FractionalMaxPool,
    MaxoutConv,
    build_model,
    cnn,
    validate_model_options,
)
from trainwell.regularize import DropConnectBlock, DropConnectConv1d, DropConnectConv2d, Dropout

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
    ({"pool": "fractal"}, r"model\.pool = 'fractal'.*'fractional'"),
    ({"pool_ratio": 1.0}, r"model\.pool_ratio = 1\.0"),
    ({"pool_ratio": 0}, r"model\.pool_ratio = 0"),
    ({"dropconnect": 1.0}, r"model\.dropconnect = 1\.0"),
    ({"input_dropout": -0.5}, r"model\.input_dropout = -0\.5"),
    ({"dropout_mode": "inverse"}, r"model\.dropout_mode = 'inverse'"),
    ({"batch_norm": "between"}, r"model\.batch_norm = 'between'"),
    ({"dropconnect": 0.2, "activation": "maxout"}, r"model\.dropconnect = 0\.2.*maxout"),
    ({"dropconnect": 0.2, "batch_norm": True}, r"model\.dropconnect = 0\.2.*breaks"),
])
def test_bad_options_name_their_key(options, match):
    with pytest.raises(ConfigError, match=match):
        build_model("cnn", input_shape=(1, 40), num_classes=10, **options)
    with pytest.raises(ConfigError, match=match):
        validate_model_options("cnn", options)


@pytest.mark.parametrize("shape", [(40,), (1, 2, 3, 4)])
def test_input_must_be_1d_or_2d(shape):
    with pytest.raises(ConfigError, match=r"model\.input_shape.*2 or 3"):
        cnn(shape, 10)


@pytest.mark.parametrize("shape,sizes", [
    ((1, 40), [[28], [19], [13], [9]]),
    ((2, 20, 12), [[14, 8], [9, 5], [6, 3], [4, 2]]),
])
def test_fractional_pooling_shrinks_by_the_ratio(shape, sizes):
    model = cnn(shape, 3, channels=[4] * len(sizes), kernel_size=3, pool="fractional")
    pools = [block.pool for block in model.features]
    assert all(isinstance(p, FractionalMaxPool) for p in pools)
    assert [p.output_size for p in pools] == sizes
    assert model.features(torch.randn(2, *shape)).shape == (2, 4, *sizes[-1])
    assert model(torch.randn(2, *shape)).shape == (2, 3)


def test_fractional_pooling_ratio_and_stop_at_size_one():
    model = cnn((1, 10), 3, channels=[2, 2, 2, 2, 2], kernel_size=3, pool="fractional", pool_ratio=0.5)
    assert [block.pool.output_size for block in model.features if hasattr(block, "pool")] == [[5], [2], [1]]
    assert not hasattr(model.features[3], "pool") and not hasattr(model.features[4], "pool")
    assert model.features(torch.randn(1, 1, 10)).shape == (1, 2, 1)


def test_fractional_pooling_draws_new_regions_every_forward_pass_even_in_eval():
    torch.manual_seed(0)
    model = cnn((1, 40), 3, channels=[4, 4], kernel_size=3, pool="fractional").eval()
    x = torch.randn(8, 1, 40)
    assert not torch.equal(model(x), model(x))
    torch.manual_seed(7)
    first = model(x)
    torch.manual_seed(7)
    assert torch.equal(model(x), first)
    plain = cnn((1, 40), 3, channels=[4, 4], kernel_size=3, pool="max").eval()
    assert torch.equal(plain(x), plain(x))


@pytest.mark.parametrize("shape,kind", [((1, 24), DropConnectConv1d), ((3, 10, 10), DropConnectConv2d)])
def test_dropconnect_convolutions_are_wrapped_with_their_activation(shape, kind):
    model = cnn(shape, 4, channels=[4, 6], kernel_size=3, dropconnect=0.3, activation="elu",
                batch_norm="after", dropconnect_inference="moment")
    blocks = list(model.features)
    assert [[n for n, _ in b.named_children()] for b in blocks] == [["dropconnect", "norm", "pool"]] * 2
    assert all(isinstance(b.dropconnect, DropConnectBlock) and type(b.dropconnect.layer) is kind
               for b in blocks)
    assert model.hidden_layers() == [b.dropconnect.layer for b in blocks]
    assert model.trainwell_activation == ("elu", 0.01)
    init.apply_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    assert all(layer.bias.abs().sum() == 0 for layer in model.hidden_layers())
    found = [(layer.name, layer.activation) for layer in find_layers(model)]
    assert found == [("features.0.dropconnect.layer", "elu"), ("features.1.dropconnect.layer", "elu"),
                     ("head", "none")]
    x = torch.randn(3, *shape)
    assert model(x).shape == (3, 4)
    model.eval()
    assert model(x).shape == (3, 4)


@pytest.mark.parametrize("batch_norm,order", [
    (True, ["conv", "norm", "act", "pool"]), ("before", ["conv", "norm", "act", "pool"]),
    ("after", ["conv", "act", "norm", "pool"]), (False, ["conv", "act", "pool"]),
])
def test_batch_norm_before_or_after_the_activation(batch_norm, order):
    model = cnn((2, 8, 8), 3, channels=[4, 4], batch_norm=batch_norm)
    assert [[n for n, _ in block.named_children()] for block in model.features] == [order] * 2


def test_batch_norm_true_and_before_build_the_same_network():
    torch.manual_seed(0)
    a = cnn((1, 16), 3, channels=[4], batch_norm=True)
    torch.manual_seed(0)
    b = cnn((1, 16), 3, channels=[4], batch_norm="before")
    assert str(a) == str(b)
    assert all(torch.equal(va, vb) for va, vb in zip(a.state_dict().values(), b.state_dict().values(),
                                                      strict=True))


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
def test_input_and_head_dropout_use_the_mode(mode):
    model = cnn((1, 8, 8), 3, channels=[4], input_dropout=0.5, dropout=0.25, dropout_mode=mode)
    names = [n for n, _ in model.named_children()]
    assert names == ["input_drop", "features", "gap", "drop", "head"]
    assert isinstance(model.input_drop, Dropout) and isinstance(model.drop, Dropout)
    assert (model.input_drop.p, model.drop.p) == (0.5, 0.25)
    assert model.input_drop.mode == model.drop.mode == mode
    seen = []
    model.features.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    torch.manual_seed(0)
    model(torch.ones(50, 1, 8, 8))
    model.eval()(torch.ones(1, 1, 8, 8))
    assert (seen[0] == 0).float().mean().item() == pytest.approx(0.5, abs=0.02)
    assert seen[0].mean().item() == pytest.approx(seen[1].mean().item(), rel=0.05)
    assert seen[1].unique().tolist() == [1.0 if mode == "inverted" else 0.5]


def test_cnn_feature_layer_sits_between_the_pooling_and_the_head_and_is_a_layer_group():
    from trainwell.recipe import Recipe
    from trainwell.transfer.groups import layer_groups

    model = build_model("cnn", input_shape=(1, 12, 12), num_classes=3, channels=[4, 6], hidden=10)
    assert model.fc[0].in_features == 6 and model.head.in_features == 10
    x = torch.randn(5, 1, 12, 12)
    features = model.fc(model.gap(model.features(x)))
    torch.testing.assert_close(model(x), model.head(features))
    assert (features >= 0).all() and [g.name for g in layer_groups(model)][-2:] == ["fc", "head"]
    plain = build_model("cnn", input_shape=(1, 12, 12), num_classes=3, channels=[4, 6])
    assert plain.fc is None and "fc.0.weight" not in plain.state_dict()
    assert "hidden" not in Recipe.from_dict({"model": {"name": "cnn", "hidden": 0}}).to_dict()["model"]
    assert Recipe.from_dict({"model": {"name": "cnn", "hidden": 64}}).to_dict()["model"]["hidden"] == 64
