"""Verdicts: the lecture's failures on real data, and every threshold at its edge."""

from __future__ import annotations

import json
import math

import pytest
import torch

from trainwell.diagnose import LayerStats, Verdict, diagnose, judge
from trainwell.diagnose import thresholds as T
from trainwell.diagnose import verdicts as V
from trainwell.init import apply_
from trainwell.models import build_model


def deep(digits, activation, scheme, *, seed=0, model="mlp", **init):
    x, y = digits
    torch.manual_seed(seed)
    options = ({"depth": 8, "width": 64} if model == "mlp" else {"channels": [8, 8, 8]})
    net = build_model(model, input_shape=(1, 8, 8), num_classes=10, activation=activation, **options)
    apply_(net, scheme, generator=torch.Generator().manual_seed(seed), **init)
    return diagnose(net, x, y, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


def kinds(d):
    return [v.kind for v in d.verdicts]


# --- the lecture's failures, measured on digits ---------------------------------------------

@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_zeros_init_gives_symmetric_units_first(digits, model):
    d = deep(digits, "relu", "zeros", model=model)
    first = d.verdicts[0]
    assert first.kind == "symmetric"
    hidden = len(d.layers) - 1
    assert first.layers == tuple(range(1, hidden + 1))
    assert "all 64 units of layer 1 are identical" in first.message or model == "cnn"
    assert "zero" in first.message and "random" in first.fix


@pytest.mark.parametrize("seed", [0, 1])
def test_deep_sigmoid_with_small_naive_init_has_a_vanishing_gradient(digits, seed):
    d = deep(digits, "sigmoid", "normal", seed=seed, std=0.01)
    assert "vanishing_gradient" in kinds(d)
    v = next(v for v in d.verdicts if v.kind == "vanishing_gradient")
    assert v.layers == (1, 9) and "layer 1 receives" in v.message
    assert "too small" in v.message and "he_normal" in v.fix
    assert d.layers[0].grad_norm < 1e-9 * d.layers[-1].grad_norm


@pytest.mark.parametrize("seed", [0, 1])
def test_deep_relu_with_uniform_minus_one_one_explodes(digits, seed):
    d = deep(digits, "relu", "uniform", seed=seed, a=-1.0, b=1.0)
    assert kinds(d)[0] == "exploding_activations"
    assert "too large" in d.verdicts[0].message and "he_normal" in d.verdicts[0].fix


@pytest.mark.parametrize("seed", [0, 1])
def test_relu_with_a_strongly_negative_bias_has_dead_units(digits, seed):
    d = deep(digits, "relu", "he_normal", seed=seed, bias=-5.0)
    assert kinds(d)[0] == "dead"
    assert "100% of the units of layers 2–8 never fire" in d.verdicts[0].message or \
        "of the units of layers 1–8 never fire" in d.verdicts[0].message
    assert "negative" in d.verdicts[0].message
    assert "lr_too_low" not in kinds(d), "a dead net is not a learning-rate problem"


def test_tanh_with_uniform_minus_one_one_on_wide_layers_saturates(digits):
    x, y = digits
    torch.manual_seed(0)
    net = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, activation="tanh", depth=4,
                      width=256)
    apply_(net, "uniform", a=-1.0, b=1.0)
    assert kinds(diagnose(net, x, y))[0] == "saturated"


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_relu_with_he_normal_is_healthy(digits, model, seed):
    d = deep(digits, "relu", "he_normal", seed=seed, model=model)
    assert kinds(d) == ["healthy"] and d.healthy
    assert d.verdicts[0].message.startswith("healthy: activations keep their scale")


def test_verdicts_round_trip_through_json(digits):
    d = deep(digits, "relu", "zeros")
    again = [Verdict.from_dict(v) for v in json.loads(json.dumps([v.to_dict() for v in d.verdicts]))]
    assert again == d.verdicts
    assert str(d.verdicts[0]) == f"{d.verdicts[0].message}; {d.verdicts[0].fix}"


# --- thresholds at their edges, on synthetic statistics ---------------------------------------

UP, DOWN = 1 + 1e-6, 1 - 1e-6


def layer(index, **changes):
    """A healthy He-initialized relu layer of 64 units (the last one is the output layer)."""
    base = dict(index=index, name=f"layer{index}", kind="linear", activation="relu", units=64,
                act_mean=0.0, act_std=1.0, hist_counts=[], hist_edges=[], dead_fraction=0.0,
                saturated_fraction=None, grad_norm=0.1, weight_grad_norm=1.0, weight_norm=11.3,
                weight_gain=1.41, bias_mean=0.0, symmetric_group=1, update_ratio=0.01)
    return LayerStats(**{**base, **changes})


def net(n=4, **per_layer):
    """``n`` layers; ``per_layer[field]`` is a list of values, one per layer, or one value for all."""
    rows = [{} for _ in range(n)]
    for key, values in per_layer.items():
        for row, v in zip(rows, values if isinstance(values, list) else [values] * n, strict=True):
            row[key] = v
    out = [layer(i + 1, **row) for i, row in enumerate(rows)]
    out[-1].activation, out[-1].dead_fraction = "none", None
    return out


def judged(layers, loss=2.3):
    return [v.kind for v in judge(layers, loss=loss)]


def test_the_synthetic_baseline_is_healthy():
    assert judged(net()) == ["healthy"]


def test_symmetric_fraction_edge():
    at = math.ceil(T.SYMMETRIC_FRACTION * 64)
    assert "symmetric" in judged(net(symmetric_group=[1, at, 1, 1]))
    assert "symmetric" not in judged(net(symmetric_group=[1, at - 1, 1, 1]))
    assert "symmetric" not in judged(net(symmetric_group=[1, 1, 1, 64])), "output rows break symmetry"
    assert "symmetric" not in judged(net(units=1, symmetric_group=1)), "one unit is not a group"
    assert "symmetric" in judged(net(units=2, symmetric_group=[2, 1, 1, 1]))


@pytest.mark.parametrize("field, threshold, kind, extra", [
    ("dead_fraction", T.DEAD_FRACTION, "dead", {}),
    ("saturated_fraction", T.SATURATED_FRACTION, "saturated", {"activation": "tanh", "dead_fraction": None}),
])
def test_unit_fraction_edges(field, threshold, kind, extra):
    def fractions(value):
        return net(**extra, **{field: [0.0, value, 0.0, None]})
    assert kind in judged(fractions(threshold))
    assert kind not in judged(fractions(threshold * DOWN))


def scales(growth, n=4):
    return net(n, act_std=[growth ** i for i in range(n)])


def test_exploding_activations_edge():
    assert "exploding_activations" in judged(scales(T.EXPLODING_GROWTH * UP))
    assert "exploding_activations" not in judged(scales(T.EXPLODING_GROWTH * DOWN))


def test_vanishing_activations_edge():
    assert "vanishing_activations" in judged(scales(T.VANISHING_GROWTH * DOWN))
    assert "vanishing_activations" not in judged(scales(T.VANISHING_GROWTH * UP))


def test_activation_scale_is_the_root_mean_square():
    grows = net(n=5, act_mean=[0.0, 0.0, 0.0, 8.0 * UP, 0.0], act_std=[1.0, 0.0, 0.0, 0.0, 1.0])
    assert "exploding_activations" in judged(grows), "rms 1 -> 8 over 3 layers is 2x per layer"


def test_confident_logits_alone_are_not_exploding_activations():
    confident = net(act_std=[1.0, 1.0, 1.0, 30.0])
    assert "exploding_activations" not in judged(confident)


def grads(ratio):
    return net(grad_norm=[0.1 * ratio, 0.1, 0.1, 0.1])


def test_vanishing_gradient_edge():
    assert "vanishing_gradient" in judged(grads(T.VANISHING_GRADIENT * DOWN))
    assert "vanishing_gradient" not in judged(grads(T.VANISHING_GRADIENT * UP))
    assert "vanishing_gradient" not in judged(net(grad_norm=None)), "no targets, no gradient verdict"


def test_exploding_gradient_edge():
    assert "exploding_gradient" in judged(grads(T.EXPLODING_GRADIENT * UP))
    assert "exploding_gradient" not in judged(grads(T.EXPLODING_GRADIENT * DOWN))


def test_learning_rate_edges():
    assert "lr_too_high" in judged(net(update_ratio=[0.01, T.UPDATE_RATIO_HIGH * UP, 0.01, 0.01]))
    assert "lr_too_high" not in judged(net(update_ratio=[0.01, T.UPDATE_RATIO_HIGH * DOWN, 0.01, 0.01]))
    low = T.UPDATE_RATIO_LOW
    assert "lr_too_low" in judged(net(update_ratio=[low * DOWN] * 4))
    assert "lr_too_low" not in judged(net(update_ratio=[low * DOWN] * 3 + [low * UP]))
    assert "lr_too_low" not in judged(net(update_ratio=None))


def test_weight_gain_edges_choose_the_cause():
    def vanishing(gain):
        return judge(net(weight_gain=gain, grad_norm=[1e-9, 0.1, 0.1, 0.1]))[0].message

    assert "weights are too small" in vanishing(T.SMALL_GAIN * DOWN)
    assert "weights are too small" not in vanishing(T.SMALL_GAIN * UP)

    def exploding(gain):
        return judge(net(weight_gain=gain, act_std=[1.0, 10.0, 100.0, 1000.0]))[0].message

    assert "init scale is too large" in exploding(T.LARGE_GAIN * UP)
    assert "init scale is too large" not in exploding(T.LARGE_GAIN * DOWN)


def test_non_finite_loss_or_activations():
    assert judged(net(), loss=math.inf)[0] == "non_finite"
    verdict = judge(net(act_std=[1.0, 1.0, math.nan, 1.0]))[0]
    assert verdict.kind == "non_finite" and verdict.layers == (3,)


def test_verdicts_come_causes_first():
    layers = net(symmetric_group=[64, 64, 64, 10], dead_fraction=[1.0, 1.0, 1.0, None],
                 weight_norm=0.0, weight_gain=0.0, grad_norm=[0.0, 0.0, 0.0, 0.1])
    found = judged(layers)
    assert found == ["symmetric", "dead", "vanishing_gradient"]
    assert found == sorted(found, key=V.VERDICT_KINDS.index)
