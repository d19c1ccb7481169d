"""The resnet factory: shapes per layout, stochastic depth, pooling, dropout and option errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell import init
from trainwell.errors import ConfigError
from trainwell.models import (
    DESCRIPTIONS,
    MODELS,
    FractionalMaxPool,
    ResNet,
    build_model,
    resnet,
    validate_model_options,
)
from trainwell.models.resnet import ResidualBlock
from trainwell.recipe import Recipe
from trainwell.regularize import Dropout, StochasticDepth

pytestmark = pytest.mark.usefixtures("one_thread")


def residual_blocks(model: ResNet) -> list[ResidualBlock]:
    return [m for m in model.blocks if isinstance(m, ResidualBlock)]


@pytest.mark.parametrize("shape,conv", [((2, 40), nn.Conv1d), ((3, 12, 10), nn.Conv2d)])
def test_conv_layout_output_shape(shape, conv):
    model = resnet(shape, 7, blocks=2, width=8)
    assert model(torch.randn(5, *shape)).shape == (5, 7)
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]
    assert len(convs) == 1 + 2 * 2 and all(type(c) is conv for c in convs)
    assert not any(isinstance(m, nn.Linear) for m in model.blocks.modules())


@pytest.mark.parametrize("shape,layout", [((40,), "auto"), ((1, 8, 8), "mlp"), ((2, 20), "mlp")])
def test_mlp_layout_flattens_and_uses_linear_blocks(shape, layout):
    model = resnet(shape, 5, blocks=3, width=16, layout=layout)
    assert model(torch.randn(4, *shape)).shape == (4, 5)
    assert not any(isinstance(m, (nn.Conv1d, nn.Conv2d)) for m in model.modules())
    assert model.stem[0][1].in_features == torch.Size(shape).numel()
    assert [type(m) for m in residual_blocks(model)[0].branch] == [
        nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.BatchNorm1d]


def test_batch_norm_off_leaves_two_layers_and_the_activation():
    model = resnet((1, 16), 3, blocks=1, width=4, batch_norm=False, activation="tanh")
    assert [type(m) for m in residual_blocks(model)[0].branch] == [nn.Conv1d, nn.Tanh, nn.Conv1d]
    assert model.trainwell_activation == ("tanh", 0.01)


@pytest.mark.parametrize("blocks,drop", [(4, 0.5), (5, 0.2), (1, 0.9)])
def test_survival_probabilities_decay_linearly(blocks, drop):
    model = resnet((1, 16), 3, blocks=blocks, width=4, stochastic_depth=drop)
    survival = [b.drop.survival for b in residual_blocks(model)]
    assert survival == pytest.approx([1 - (layer / blocks) * drop for layer in range(1, blocks + 1)])
    assert survival[-1] == pytest.approx(1 - drop)
    assert all(isinstance(b.drop, StochasticDepth) and b.drop.mode == "batch" for b in residual_blocks(model))


def test_no_stochastic_depth_by_default():
    model = resnet((1, 16), 3, blocks=3, width=4)
    assert all(isinstance(b.drop, nn.Identity) for b in residual_blocks(model))
    assert not any(isinstance(m, StochasticDepth) for m in model.modules())


def kept_fraction(model: ResNet, x: torch.Tensor) -> list[float]:
    """The fraction of samples whose branch output each block kept (non-zero) in one forward pass."""
    fractions: list[float] = []
    hooks = [b.drop.register_forward_hook(
        lambda m, args, out: fractions.append((out.flatten(1).abs().sum(1) > 0).double().mean().item()))
        for b in residual_blocks(model)]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return fractions


def test_stochastic_depth_keeps_branches_at_their_survival_rates_while_training():
    torch.manual_seed(0)
    model = resnet((1, 12), 3, blocks=3, width=4, stochastic_depth=0.75,
                   stochastic_depth_mode="sample").train()
    assert kept_fraction(model, torch.randn(4000, 1, 12)) == pytest.approx([0.75, 0.5, 0.25], abs=0.03)


def test_stochastic_depth_per_batch_drops_whole_minibatches():
    torch.manual_seed(0)
    model = resnet((1, 12), 3, blocks=1, width=4, stochastic_depth=0.5).train()
    fractions = [kept_fraction(model, torch.randn(16, 1, 12))[0] for _ in range(40)]
    assert set(fractions) == {0.0, 1.0}
    assert 10 <= fractions.count(1.0) <= 30


def test_eval_is_deterministic_and_scales_branches_by_survival():
    torch.manual_seed(0)
    model = resnet((2, 16), 3, blocks=3, width=4, stochastic_depth=0.5, pool="max")
    x = torch.randn(5, 2, 16)
    assert not all(torch.equal(model(x), model(x)) for _ in range(5))
    model.eval()
    assert torch.equal(model(x), model(x))
    block = residual_blocks(model)[2]
    pairs = []
    block.drop.register_forward_hook(lambda m, args, out: pairs.append((args[0], out)))
    model(x)
    (branch, scaled), = pairs
    assert torch.allclose(scaled, branch * 0.5)


@pytest.mark.parametrize("shape,sizes", [((1, 40), [[28], [19], [13]]),
                                         ((2, 20, 12), [[14, 8], [9, 5], [6, 3]])])
def test_fractional_pooling_after_each_block(shape, sizes):
    model = resnet(shape, 3, blocks=3, width=4, pool="fractional")
    pools = [m for m in model.blocks if isinstance(m, FractionalMaxPool)]
    assert [p.output_size for p in pools] == sizes
    assert [type(m) for m in model.blocks] == [ResidualBlock, FractionalMaxPool] * 3
    assert model.blocks(model.stem(torch.randn(2, *shape))).shape == (2, 4, *sizes[-1])


def test_max_pooling_halves_while_sizes_allow():
    model = resnet((1, 5), 3, blocks=4, width=4, pool="max")
    assert [type(m).__name__ for m in model.blocks] == ["ResidualBlock", "MaxPool1d", "ResidualBlock",
                                                       "MaxPool1d", "ResidualBlock", "ResidualBlock"]
    assert model(torch.randn(2, 1, 5)).shape == (2, 3)


def test_fractional_pooling_differs_between_eval_passes_and_is_seeded():
    torch.manual_seed(0)
    model = resnet((1, 40), 3, blocks=2, width=4, pool="fractional").eval()
    x = torch.randn(6, 1, 40)
    assert not torch.equal(model(x), model(x))
    torch.manual_seed(3)
    first = model(x)
    torch.manual_seed(3)
    assert torch.equal(model(x), first)


@pytest.mark.parametrize("mode", ["inverted", "scale_at_test"])
def test_dropout_before_the_head(mode):
    model = resnet((1, 16), 3, blocks=1, width=8, dropout=0.5, dropout_mode=mode)
    assert [n for n, _ in model.named_children()] == ["stem", "blocks", "gap", "drop", "head"]
    assert isinstance(model.drop, Dropout) and (model.drop.p, model.drop.mode) == (0.5, mode)
    pooled, head_input = [], []
    model.gap.register_forward_hook(lambda m, args, out: pooled.append(out))
    model.head.register_forward_pre_hook(lambda m, args: head_input.append(args[0]))
    model.eval()(torch.randn(3, 1, 16))
    assert pooled[0].shape == (3, 8)
    assert torch.equal(head_input[0], pooled[0] * (1.0 if mode == "inverted" else 0.5))
    assert isinstance(resnet((1, 16), 3).drop, nn.Identity)


def test_registered_built_by_name_and_initialized():
    assert MODELS["resnet"] is resnet and "stochastic depth" in DESCRIPTIONS["resnet"]
    model = build_model("resnet", input_shape=(1, 40), num_classes=10, blocks=2, width=8)
    assert isinstance(model, ResNet)
    init.apply_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    assert all(m.bias.abs().sum() == 0 for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear)))
    recipe = Recipe.from_dict({"model": {"name": "resnet", "pool": "fractional", "stochastic_depth": 0.5}})
    assert Recipe.from_dict(recipe.to_dict()) == recipe


def test_loss_goes_down():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 21)
    y = x.reshape(64, 3, 7).mean(2).argmax(1)  # the class is the segment with the largest mean
    model = resnet((1, 21), 3, blocks=2, width=8, stochastic_depth=0.2, pool="fractional", dropout=0.1)

    def eval_loss() -> float:
        with torch.no_grad():
            return nn.functional.cross_entropy(model.eval()(x), y).item()

    before = eval_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = nn.functional.cross_entropy(model.train()(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert eval_loss() < 0.7 * before


@pytest.mark.parametrize("options,key", [
    ({"dropout": 1.0}, "dropout"),
    ({"dropout_mode": "original"}, "dropout_mode"),
    ({"stochastic_depth": 1.0}, "stochastic_depth"),
    ({"stochastic_depth_mode": "row"}, "stochastic_depth_mode"),
    ({"pool": "avg"}, "pool"),
    ({"pool_ratio": 1.5}, "pool_ratio"),
    ({"kernel_size": 4}, "kernel_size"),
    ({"blocks": 0}, "blocks"),
    ({"layout": "conv"}, "layout"),
    ({"activation": "maxout"}, "activation"),
])
def test_bad_options_name_their_key(options, key):
    for check in (lambda: build_model("resnet", input_shape=(1, 40), num_classes=10, **options),
                  lambda: validate_model_options("resnet", options)):
        with pytest.raises(ConfigError) as info:
            check()
        assert info.value.key == f"model.{key}"


def test_dropconnect_makes_the_head_a_dropconnect_layer_with_the_mean_network_at_test():
    from trainwell.regularize import DropConnectLinear

    torch.manual_seed(0)
    model = resnet((1, 40), 10, blocks=1, width=8, dropconnect=0.5)
    assert isinstance(model.head, DropConnectLinear) and model.head.p == 0.5
    x = torch.randn(4, 1, 40)
    model.eval()
    assert torch.equal(model(x), model(x))
    features = model.gap(model.blocks(model.stem(x)))
    expected = features @ (0.5 * model.head.weight).T + model.head.bias
    assert torch.allclose(model(x), expected, atol=1e-6)


def test_test_time_augmentation_averages_over_fractional_pooling_draws():
    from trainwell.data.tta import predict_tta, tta_views

    torch.manual_seed(0)
    model = resnet((1, 40), 10, blocks=2, width=8, pool="fractional").eval()
    x = torch.randn(6, 1, 40)
    torch.manual_seed(1)
    averaged = predict_tta(model, x, 3)
    torch.manual_seed(1)
    with torch.no_grad():
        draws = [torch.softmax(model(v), dim=1) for v in tta_views(x, "signal", 3)]
    assert torch.allclose(averaged, torch.stack(draws).mean(0), atol=1e-6)
    with torch.no_grad():
        assert not torch.equal(model(x), model(x))  # each pass draws new pooling regions
