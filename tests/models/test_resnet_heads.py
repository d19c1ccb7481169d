"""The resnet's stem norm, stem pooling and global pooling options, and the run ids of recipes
without them."""

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models import build_model
from trainwell.models.pooling import GlobalPool
from trainwell.recipe import Recipe
from trainwell.sweep import run_id


def test_global_pool_kinds_pool_every_position():
    x = torch.tensor([[[1.0, 5.0, 3.0], [-2.0, 0.0, -4.0]]])
    assert GlobalPool("avg")(x).tolist() == [[3.0, -2.0]]
    assert GlobalPool("max")(x).tolist() == [[5.0, 0.0]]
    assert GlobalPool("avgmax")(x).tolist() == [[3.0, -2.0, 5.0, 0.0]]
    image = torch.arange(8.0).view(1, 2, 2, 2)
    assert GlobalPool("max")(image).tolist() == [[3.0, 7.0]]


def test_avgmax_doubles_the_head_input_and_stem_norm_adds_batch_norm():
    model = build_model("resnet", input_shape=(1, 40), num_classes=10, width=8,
                        global_pool="avgmax", stem_norm=True)
    assert model.head.in_features == 16
    assert [type(m) for m in model.stem] == [nn.Conv1d, nn.BatchNorm1d, nn.ReLU]
    assert model(torch.randn(4, 1, 40)).shape == (4, 10)
    plain = build_model("resnet", input_shape=(1, 40), num_classes=10, width=8)
    assert plain.head.in_features == 8
    assert [type(m) for m in plain.stem] == [nn.Conv1d, nn.ReLU]


def test_the_options_at_their_defaults_leave_the_recipe_and_its_run_id_as_before():
    before = Recipe.from_dict({"model": {"name": "resnet", "width": 16}})
    same = Recipe.from_dict({"model": {"name": "resnet", "width": 16, "global_pool": "avg",
                                       "stem_norm": False}})
    assert "global_pool" not in before.to_dict()["model"]
    assert run_id(same.to_dict()) == run_id(before.to_dict())
    other = Recipe.from_dict({"model": {"name": "resnet", "width": 16, "global_pool": "max"}})
    assert other.to_dict()["model"]["global_pool"] == "max"
    assert run_id(other.to_dict()) != run_id(before.to_dict())


def test_an_unknown_global_pool_names_the_key_and_the_kinds():
    with pytest.raises(ConfigError, match="model.global_pool.*'avg', 'max' or 'avgmax'"):
        Recipe.from_dict({"model": {"name": "resnet", "global_pool": "sum"}})


def _block_input_lengths(model: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    hooks = [block.register_forward_pre_hook(lambda _, args: shapes.append(tuple(args[0].shape[2:])))
             for block in model.blocks if not isinstance(block, (nn.MaxPool1d, nn.MaxPool2d))]
    model(x)
    for hook in hooks:
        hook.remove()
    return shapes


def test_stem_pool_halves_the_positions_every_block_works_on():
    plain = build_model("resnet", input_shape=(1, 40), num_classes=10, width=8, pool="max")
    pooled = build_model("resnet", input_shape=(1, 40), num_classes=10, width=8, pool="max",
                         stem_pool=True)
    x = torch.randn(3, 1, 40)
    assert _block_input_lengths(plain, x) == [(40,), (20,), (10,)]
    assert _block_input_lengths(pooled, x) == [(20,), (10,), (5,)]
    assert isinstance(pooled.stem[-1], nn.MaxPool1d) and pooled(x).shape == (3, 10)
    assert sum(p.numel() for p in pooled.parameters()) == sum(p.numel() for p in plain.parameters())
    image = build_model("resnet", input_shape=(1, 8, 8), num_classes=10, width=4, blocks=1,
                        stem_pool=True)
    assert _block_input_lengths(image, torch.randn(2, 1, 8, 8)) == [(4, 4)]
    flat = build_model("resnet", input_shape=(12,), num_classes=3, width=4, stem_pool=True)
    assert not any(isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) for m in flat.modules())


def test_stem_pool_at_its_default_leaves_the_run_id_as_before():
    before = Recipe.from_dict({"model": {"name": "resnet", "width": 16}})
    same = Recipe.from_dict({"model": {"name": "resnet", "width": 16, "stem_pool": False}})
    assert "stem_pool" not in same.to_dict()["model"]
    assert run_id(same.to_dict()) == run_id(before.to_dict())
    pooled = Recipe.from_dict({"model": {"name": "resnet", "width": 16, "stem_pool": True}})
    assert run_id(pooled.to_dict()) != run_id(before.to_dict())
    with pytest.raises(ConfigError, match="model.stem_pool"):
        Recipe.from_dict({"model": {"name": "resnet", "stem_pool": "yes"}})


def test_stem_stride_strides_the_stem_convolution():
    strided = build_model("resnet", input_shape=(1, 41), num_classes=10, width=8, pool="max",
                          stem_stride=2)
    assert strided.stem[0].stride == (2,)
    assert _block_input_lengths(strided, torch.randn(3, 1, 41)) == [(21,), (10,), (5,)]
    image = build_model("resnet", input_shape=(3, 9, 9), num_classes=10, width=4, blocks=1,
                        stem_stride=3)
    assert _block_input_lengths(image, torch.randn(2, 3, 9, 9)) == [(3, 3)]
    assert "stem_stride" not in Recipe.from_dict(
        {"model": {"name": "resnet", "stem_stride": 1}}).to_dict()["model"]
    with pytest.raises(ConfigError, match="model.stem_stride"):
        Recipe.from_dict({"model": {"name": "resnet", "stem_stride": 0}})
