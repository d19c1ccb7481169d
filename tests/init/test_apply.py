"""apply_: which modules it reaches, what it does to biases, the model's activation, bad recipes."""

import copy
import math

import pytest
import torch
from scipy import stats
from torch import nn

from trainwell.errors import ConfigError
from trainwell.init import DESCRIPTIONS, INITIALIZERS, LAYERS, apply_, gain

OPTIONS = {"constant": {"value": 0.5}}


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(2, 4, 3), nn.Conv1d(4, 4, 3, bias=False)])
        self.bn = nn.BatchNorm1d(4)


class Net(nn.Module):
    """Nested Linear/Conv modules of every kind apply_ handles, with BatchNorm in between."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(),
                                      nn.Sequential(nn.Conv3d(2, 3, 2)))
        self.block = Block()
        self.head = nn.ModuleDict({"hidden": nn.Linear(10, 20), "out": nn.Linear(20, 5)})


def layers(model):
    return [m for m in model.modules() if isinstance(m, LAYERS)]


def test_every_scheme_has_a_description():
    assert list(DESCRIPTIONS) == list(INITIALIZERS)
    assert all(isinstance(text, str) and text for text in DESCRIPTIONS.values())
    assert "lsuv" not in INITIALIZERS


@pytest.mark.parametrize("name", INITIALIZERS)
def test_every_scheme_runs_through_apply(name):
    model = Net()
    for bn in (model.features[1], model.block.bn):
        nn.init.constant_(bn.weight, 3.0)
        nn.init.constant_(bn.bias, -1.0)
    before = [m.weight.detach().clone() for m in layers(model)]
    out = apply_(model, name, generator=torch.Generator().manual_seed(0), **OPTIONS.get(name, {}))
    assert out is model
    assert len(before) == 6
    for old, module in zip(before, layers(model), strict=True):
        w = module.weight.detach()
        assert torch.isfinite(w).all()
        assert not torch.equal(old, w), f"{name} left {module} unchanged"
        if module.bias is None:
            continue
        if name == "torch_default":
            bound = 1 / math.sqrt(module.weight[0].numel())
            assert 0 < module.bias.abs().max().item() <= bound
        else:
            assert torch.count_nonzero(module.bias) == 0
    for bn in (model.features[1], model.block.bn):
        assert torch.equal(bn.weight, torch.full_like(bn.weight, 3.0))
        assert torch.equal(bn.bias, torch.full_like(bn.bias, -1.0))


def test_apply_reaches_nested_layers():
    model = apply_(Net(), "constant", value=0.5)
    for module in layers(model):
        assert torch.equal(module.weight, torch.full_like(module.weight, 0.5))


def test_apply_leaves_fresh_batchnorm_at_one_and_zero():
    model = apply_(Net(), "he_normal")
    bn = model.features[1]
    assert torch.equal(bn.weight, torch.ones(6)) and torch.equal(bn.bias, torch.zeros(6))
    assert torch.equal(bn.running_mean, torch.zeros(6)) and torch.equal(bn.running_var, torch.ones(6))


@pytest.mark.parametrize("name", ["he_normal", "torch_default", "zeros"])
def test_apply_sets_the_given_bias(name):
    model = apply_(Net(), name, bias=0.1)
    for module in layers(model):
        if module.bias is not None:
            assert torch.equal(module.bias, torch.full_like(module.bias, 0.1))


def _reset_all(model):
    for module in model.modules():
        if isinstance(module, LAYERS):
            module.reset_parameters()


def test_torch_default_equals_reset_parameters_with_a_generator():
    model = Net()
    expected = copy.deepcopy(model)
    torch.manual_seed(7)
    _reset_all(expected)
    apply_(model, "torch_default", generator=torch.Generator().manual_seed(7))
    for got, want in zip(model.state_dict().values(), expected.state_dict().values(), strict=True):
        assert torch.equal(got, want)


def test_torch_default_equals_reset_parameters_with_the_global_seed():
    model = Net()
    expected = copy.deepcopy(model)
    torch.manual_seed(3)
    _reset_all(expected)
    torch.manual_seed(3)
    apply_(model, "torch_default")
    for got, want in zip(model.state_dict().values(), expected.state_dict().values(), strict=True):
        assert torch.equal(got, want)


def test_apply_is_reproducible():
    a = apply_(Net(), "orthogonal", generator=torch.Generator().manual_seed(1))
    b = apply_(Net(), "orthogonal", generator=torch.Generator().manual_seed(1))
    c = apply_(Net(), "orthogonal", generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(),
                                                 strict=True))
    assert not torch.equal(a.head["out"].weight, c.head["out"].weight)


def big_model(activation=None):
    model = nn.Sequential(nn.Linear(256, 128))
    if activation is not None:
        model.trainwell_activation = activation
    return model


def he_normal_pvalue(model, std, **options):
    apply_(model, "he_normal", generator=torch.Generator().manual_seed(12), **options)
    w = model[0].weight.detach().flatten().double().numpy()
    return stats.kstest(w, stats.norm(scale=std).cdf).pvalue


@pytest.mark.parametrize("activation,expected_gain", [
    (("relu", 0.01), math.sqrt(2)),
    (("tanh", 0.01), 5 / 3),
    (("leaky_relu", 0.3), math.sqrt(2 / 1.09)),
    (("selu", 0.01), 0.75),
    (("identity", 0.01), 1.0),
])
def test_he_normal_takes_the_gain_from_the_model(activation, expected_gain):
    assert he_normal_pvalue(big_model(activation), expected_gain / 16) > 1e-4


def test_model_activation_differs_from_relu_detectably():
    assert he_normal_pvalue(big_model(("tanh", 0.01)), math.sqrt(2) / 16) < 1e-4


def test_explicit_nonlinearity_overrides_the_model():
    model = big_model(("leaky_relu", 0.3))
    assert he_normal_pvalue(model, 1 / 16, nonlinearity="linear") > 1e-4
    # the model's slope belongs to its leaky_relu; another nonlinearity does not take it
    assert he_normal_pvalue(big_model(("relu", 0.0)), gain("leaky_relu") / 16,
                            nonlinearity="leaky_relu") > 1e-4
    assert he_normal_pvalue(big_model(("leaky_relu", 0.3)), math.sqrt(2 / 1.25) / 16,
                            negative_slope=0.5) > 1e-4


def test_orthogonal_takes_the_gain_from_the_model():
    model = apply_(big_model(("tanh", 0.01)), "orthogonal")
    w = model[0].weight.detach().double()
    assert torch.allclose(w @ w.T, (5 / 3) ** 2 * torch.eye(128, dtype=torch.float64), atol=1e-4)


def test_unknown_model_activation_needs_an_explicit_nonlinearity():
    with pytest.raises(ConfigError, match=r"model\.activation = 'swish'.*init\.nonlinearity"):
        apply_(big_model(("swish", None)), "he_normal")
    apply_(big_model(("swish", None)), "he_normal", nonlinearity="relu")
    apply_(big_model(("swish", None)), "glorot_uniform")


@pytest.mark.parametrize("scheme,options,key,hint", [
    ("he_normall", {}, "init.name", "did you mean 'he_normal'"),
    ("xavier", {}, "init.name", "glorot_uniform"),
    ("he_normal", {"std": 0.1}, "init.std", "allowed: nonlinearity, negative_slope, mode"),
    ("he_normal", {"mdoe": "fan_in"}, "init.mdoe", "did you mean 'mode'"),
    ("normal", {"std": 0.0}, "init.std", "greater than 0"),
    ("normal", {"std": -1.0}, "init.std", "greater than 0"),
    ("normal", {"std": "big"}, "init.std", "number"),
    ("uniform", {"a": 1.0, "b": -1.0}, "init.b", "greater than init.a"),
    ("uniform", {"a": 0.0, "b": 0.0}, "init.b", "greater than init.a"),
    ("he_normal", {"mode": "fan_avg"}, "init.mode", "fan_in"),
    ("he_uniform", {"nonlinearity": "rleu"}, "init.nonlinearity", "relu"),
    ("he_uniform", {"negative_slope": -0.1}, "init.negative_slope", "0"),
    ("variance_scaling", {"scale": 0}, "init.scale", "greater than 0"),
    ("constant", {}, "init.value", "required"),
    ("prettytensor_xavier", {"uniform": "yes"}, "init.uniform", "bool"),
    ("glorot_normal", {"gain": -1.0}, "init.gain", "greater than 0"),
])
def test_bad_recipe_raises_config_error_naming_the_key(scheme, options, key, hint):
    with pytest.raises(ConfigError) as info:
        apply_(big_model(), scheme, **options)
    assert info.value.key == key
    assert hint in str(info.value)


@pytest.mark.parametrize("bias", ["0", True, float("nan")])
def test_bad_bias_raises(bias):
    with pytest.raises(ConfigError, match=r"init\.bias"):
        apply_(big_model(), "he_normal", bias=bias)


def test_bad_recipe_leaves_the_model_untouched():
    model = big_model()
    before = copy.deepcopy(model.state_dict())
    for scheme, options in [("normal", {"std": -1.0}), ("uniform", {"a": 1.0, "b": 0.0}), ("nope", {})]:
        with pytest.raises(ConfigError):
            apply_(model, scheme, **options)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
