"""The cnn's ``pool_after``: pooling after the listed blocks only, for deep thin networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.models import build_model, cnn, validate_model_options
from trainwell.recipe import Recipe


def pooled_blocks(model) -> list[int]:
    return [i for i, block in enumerate(model.features, start=1) if hasattr(block, "pool")]


@pytest.mark.parametrize("shape", [(1, 40), (1, 28, 28)])
def test_pools_only_after_the_listed_blocks(shape):
    model = cnn(shape, 10, channels=[4] * 9, kernel_size=3, pool_after=[3, 6, 9])
    assert pooled_blocks(model) == [3, 6, 9]
    out = model.features(torch.zeros(2, *shape))
    assert out.shape[2:] == tuple(s // 8 for s in shape[1:])  # three halvings
    assert model(torch.zeros(2, *shape)).shape == (2, 10)


def test_unset_pools_after_every_block_as_before():
    default = cnn((1, 40), 10, channels=[4, 4, 4])
    listed = cnn((1, 40), 10, channels=[4, 4, 4], pool_after=[1, 2, 3])
    assert pooled_blocks(default) == pooled_blocks(listed) == [1, 2, 3]
    assert "pool_after" not in Recipe.from_dict({"model": {"name": "cnn"}}).to_dict()["model"]


@pytest.mark.parametrize("pool,kind", [("max", nn.MaxPool1d), ("avg", nn.AvgPool1d), ("none", None)])
def test_pool_kind_is_kept_and_none_means_no_pooling(pool, kind):
    model = cnn((1, 40), 10, channels=[4] * 4, pool=pool, pool_after=[2, 4])
    pools = [m for m in model.modules() if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d))]
    assert [type(m) for m in pools] == ([kind, kind] if kind else [])


def test_fractional_pooling_after_listed_blocks():
    model = cnn((1, 40), 10, channels=[4] * 4, pool="fractional", pool_after=[1, 3])
    assert pooled_blocks(model) == [1, 3]
    assert model.features(torch.zeros(1, 1, 40)).shape == (1, 4, 19)  # 40 -> 28 -> 19


def test_a_listed_block_still_stops_pooling_at_size_one():
    model = cnn((1, 4), 10, channels=[2] * 4, pool_after=[1, 2, 3, 4])
    assert pooled_blocks(model) == [1, 2]


@pytest.mark.parametrize("value,match", [
    ([], r"model\.pool_after = \[\]"),
    ([3, 2], r"model\.pool_after = \[3, 2\].*increasing"),
    ([2, 2], r"model\.pool_after = \[2, 2\]"),
    ([0, 3], r"model\.pool_after\.0 = 0"),
])
def test_bad_lists_name_the_key(value, match):
    with pytest.raises(ConfigError, match=match):
        validate_model_options("cnn", {"channels": [4] * 4, "pool_after": value})


def test_a_block_number_past_the_last_block_is_an_error():
    with pytest.raises(ConfigError, match=r"model\.pool_after = \[2, 5\].*from 1 to 4"):
        build_model("cnn", input_shape=(1, 40), num_classes=10, channels=[4] * 4, pool_after=[2, 5])


def test_a_block_past_the_last_is_rejected_when_the_recipe_is_read():
    from trainwell.errors import ConfigError
    from trainwell.recipe import Recipe

    with pytest.raises(ConfigError) as err:
        Recipe.from_dict({"model": {"name": "cnn", "channels": [4, 4], "pool_after": [3]}})
    assert err.value.key == "model.pool_after"
