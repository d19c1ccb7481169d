"""Stochastic depth: the linear decay rule, drop rates, and equal expectations in both scalings."""

import pytest
import torch
from scipy.stats import binomtest

from trainwell.errors import ConfigError
from trainwell.regularize import StochasticDepth, drop_path, survival_probabilities


def test_survival_probabilities_decay_linearly_to_the_last_blocks():
    assert survival_probabilities(5, last_survival=0.5) == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert survival_probabilities(54, last_survival=0.5)[26] == pytest.approx(1 - 27 / 54 * 0.5)
    assert survival_probabilities(1, last_survival=0.2) == [0.2]
    assert survival_probabilities(3, last_survival=1.0) == [1.0, 1.0, 1.0]
    # the expected depth of the paper's rule with p_L = 0.5 is (3L − 1) / 4
    assert sum(survival_probabilities(110)) == pytest.approx((3 * 110 - 1) / 4)


@pytest.mark.parametrize("kw, key", [({"num_blocks": 0}, "num_blocks"),
                                     ({"last_survival": 0.0}, "last_survival"),
                                     ({"last_survival": 1.5}, "last_survival")])
def test_bad_schedules_raise_config_errors(kw, key):
    with pytest.raises(ConfigError, match=key):
        survival_probabilities(**{"num_blocks": 4, **kw})


def test_each_block_is_dropped_at_its_rate_over_many_steps():
    survivals = survival_probabilities(4, last_survival=0.5)
    blocks = [StochasticDepth(s) for s in survivals]
    steps = 2000
    for i, (block, s) in enumerate(zip(blocks, survivals, strict=True)):
        block.generator = torch.Generator().manual_seed(i)
        outs = torch.stack([block(torch.ones(3, 2)) for _ in range(steps)])
        whole = outs.flatten(1)
        assert ((whole == 0).all(1) | (whole == 1).all(1)).all()  # "batch": the whole batch at once
        dropped = int((whole == 0).all(1).sum())
        assert binomtest(dropped, steps, 1 - s).pvalue > 1e-4, s


def test_sample_mode_drops_rows_independently():
    block = StochasticDepth(0.7, mode="sample")
    block.generator = torch.Generator().manual_seed(0)
    out = block(torch.ones(4000, 3, 2))
    rows = out.flatten(1)
    assert ((rows == 0).all(1) | (rows == 1).all(1)).all()
    assert binomtest(int((rows == 0).all(1).sum()), 4000, 0.3).pvalue > 1e-4


@pytest.mark.parametrize("scale, factor", [("test", 0.6), ("train", 1.0)])
def test_eval_is_deterministic(scale, factor):
    x = torch.randn(5, 4)
    block = StochasticDepth(0.6, scale=scale).eval()
    assert torch.equal(block(x), block(x))
    assert torch.allclose(block(x), x * factor)


@pytest.mark.parametrize("mode", ["batch", "sample"])
@pytest.mark.parametrize("scale", ["test", "train"])
def test_the_expected_training_output_is_the_eval_output_in_both_scalings(mode, scale):
    s, n = 0.6, 3000
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    block = StochasticDepth(s, mode=mode, scale=scale)
    block.generator = torch.Generator().manual_seed(1)
    mean = torch.stack([block(x) for _ in range(n)]).mean(0)
    expected = block.eval()(x)
    # one draw: x·b (var x²·s(1−s)) or x·b/s (var x²·(1−s)/s); five standard errors
    var = x * x * (s * (1 - s) if scale == "test" else (1 - s) / s)
    assert ((mean - expected).abs() <= 5 * (var / n).sqrt()).all()


def test_kept_branches_are_scaled_only_in_train_scaling():
    x = torch.ones(100, 1)
    kept = {}
    for scale in ("test", "train"):
        block = StochasticDepth(0.5, mode="sample", scale=scale)
        block.generator = torch.Generator().manual_seed(0)
        out = block(x)
        kept[scale] = set(out[out != 0].tolist())
    assert kept == {"test": {1.0}, "train": {2.0}}


def test_survival_one_is_the_identity_and_gradients_flow_through_kept_branches():
    x = torch.randn(3, 4, requires_grad=True)
    assert torch.equal(drop_path(x, 1.0, training=True), x)
    out = drop_path(x, 0.5, training=True, mode="sample", scale_at_test=False,
                    generator=torch.Generator().manual_seed(0))
    out.sum().backward()
    keep = (out != 0).all(1).float()
    assert torch.allclose(x.grad, keep[:, None].expand(3, 4) * 2)


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match=r"a survival probability in \(0, 1\]"):
        StochasticDepth(0.0)
    with pytest.raises(ConfigError, match="'batch', 'sample'"):
        StochasticDepth(0.5, mode="row")
    with pytest.raises(ConfigError, match="'test', 'train'"):
        StochasticDepth(0.5, scale="both")


@pytest.mark.parametrize("build, key", [(lambda: StochasticDepth(1.5), "survival"),
                                        (lambda: StochasticDepth(0.5, mode="row"), "mode"),
                                        (lambda: StochasticDepth(0.5, scale="never"), "scale"),
                                        (lambda: drop_path(torch.ones(2), 0.0, training=True),
                                         "survival")])
def test_bad_arguments_name_the_parameter_the_caller_set(build, key):
    with pytest.raises(ConfigError) as err:
        build()
    assert err.value.key == key


def test_a_recipe_s_bad_stochastic_depth_names_its_model_key():
    from trainwell.recipe import Recipe

    with pytest.raises(ConfigError) as err:
        Recipe.from_dict({"model": {"name": "resnet", "stochastic_depth": 1.0}})
    assert err.value.key == "model.stochastic_depth"
