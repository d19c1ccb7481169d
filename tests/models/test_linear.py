"""The linear model (softmax regression): shapes, registry, options, init gain, and a fit that
matches scikit-learn's multinomial logistic regression."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from trainwell import init
from trainwell.errors import ConfigError
from trainwell.models import DESCRIPTIONS, MODELS, LinearClassifier, build_model, linear, mlp
from trainwell.recipe import Recipe

SHAPES = [(1, 40), (1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_output_is_one_affine_map_of_the_flattened_input(shape):
    torch.manual_seed(0)
    model = linear(shape, 7)
    x = torch.randn(5, *shape)
    expected = x.flatten(1) @ model.head.weight.T + model.head.bias
    assert model(x).shape == (5, 7)
    torch.testing.assert_close(model(x), expected)
    assert model.head.in_features == math.prod(shape)


def test_no_hidden_layer_and_one_weight_matrix():
    model = linear((1, 40), 10)
    assert model.hidden_layers() == []
    assert [type(m) for m in model.modules() if isinstance(m, nn.Linear)] == [nn.Linear]
    assert sum(p.numel() for p in model.parameters()) == 40 * 10 + 10
    assert model.trainwell_activation == ("identity", 0.01)


def test_registered_by_name_with_a_description():
    assert MODELS["linear"] is linear
    assert "softmax regression" in DESCRIPTIONS["linear"]
    assert isinstance(build_model("linear", input_shape=(1, 8, 8), num_classes=3), LinearClassifier)
    recipe = Recipe.from_dict({"data": {"name": "digits"}, "model": {"name": "linear"}})
    assert recipe.model.name == "linear" and recipe.model.options == {}
    assert Recipe.from_dict(recipe.to_dict()) == recipe


@pytest.mark.parametrize("option", [{"width": 16}, {"depth": 0}, {"dropout": 0.5}])
def test_options_of_other_models_are_rejected_by_name(option):
    with pytest.raises(ConfigError) as err:
        build_model("linear", input_shape=(1, 40), num_classes=10, **option)
    assert err.value.key == f"model.{next(iter(option))}"


@pytest.mark.parametrize("shape, classes", [((), 10), ((1, 0), 10), ((1, 40), 0)])
def test_bad_shapes_and_class_counts_raise(shape, classes):
    with pytest.raises(ConfigError):
        linear(shape, classes)


def test_mlp_still_needs_a_hidden_layer():
    with pytest.raises(ConfigError) as err:
        mlp((1, 40), 10, depth=0)
    assert err.value.key == "model.depth"
    with pytest.raises(ConfigError):
        build_model("mlp", input_shape=(1, 40), num_classes=10, widths=[])


def test_initializers_use_the_gain_of_a_linear_layer():
    model = linear((1, 400), 50)
    init.apply_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    w = model.head.weight.detach().double().flatten().numpy()
    # identity has gain 1: N(0, 1 / fan_in), not relu's N(0, 2 / fan_in).
    assert stats.kstest(w * math.sqrt(400), "norm").pvalue > 1e-4
    assert float(model.head.bias.detach().abs().sum()) == 0.0


def test_fit_matches_scikit_learn_logistic_regression():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    x, y = x[:300] / 16.0, y[:300]
    c = 0.5
    ref = LogisticRegression(C=c, tol=1e-10, max_iter=10_000).fit(x, y)

    torch.manual_seed(0)
    model = linear((64,), 10).double()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12,
                                  tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        # scikit-learn minimizes C·Σ loss + ½‖W‖²; divided by C·n, the mean loss plus this.
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss = loss + model.head.weight.pow(2).sum() / (2 * c * len(y))
        loss.backward()
        return loss

    for _ in range(5):
        optimizer.step(closure)
    with torch.no_grad():
        probs = model(xt).softmax(1).numpy()
    np.testing.assert_allclose(probs, ref.predict_proba(x), atol=1e-5)
    np.testing.assert_allclose(model.head.weight.detach().numpy(), ref.coef_, atol=1e-4)
