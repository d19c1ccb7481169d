"""DBN pre-training: weights copied exactly, the head's scheme, visible auto-selection, errors."""

from __future__ import annotations

import copy
import io
import math
import sys
from dataclasses import fields

import pytest
import torch
from torch import nn

from trainwell.data import load_dataset
from trainwell.errors import ConfigError, TrainwellError
from trainwell.models import cnn, mlp
from trainwell.params import option_names
from trainwell.pretrain import RBM, CDOptions, DBNReport, autoencoder_pretrain_, dbn_pretrain_


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", normalize="unit")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_hidden_layers_hold_the_trained_rbms_exactly(digits):
    model = mlp((1, 8, 8), 10, depth=3, width=24, activation="sigmoid")
    report = dbn_pretrain_(model, digits.all_inputs, epochs=3, generator=gen())
    assert isinstance(report, DBNReport)
    assert [(layer.n_visible, layer.n_hidden) for layer in report.layers] == \
        [(64, 24), (24, 24), (24, 24)]
    for linear, layer in zip(model.hidden_layers(), report.layers, strict=True):
        assert isinstance(layer.rbm, RBM) and layer.rbm.trained
        assert torch.equal(linear.weight.detach(), layer.rbm.weight)
        assert torch.equal(linear.bias.detach(), layer.rbm.hidden_bias)
        assert len(layer.recon_error) == 3 and all(math.isfinite(e) for e in layer.recon_error)
        assert layer.visible == "bernoulli" and math.isfinite(layer.pseudo_ll)
        assert layer.seconds > 0
    assert report.rbms == tuple(layer.rbm for layer in report.layers)
    assert "3 RBMs" in str(report) and "64 → 24 (bernoulli)" in str(report)


def test_each_rbm_learns_from_the_previous_hidden_probabilities(digits):
    model = mlp((1, 8, 8), 10, depth=2, width=16, activation="sigmoid")
    x = digits.all_inputs.flatten(1)
    first, second = dbn_pretrain_(model, x, epochs=1, lr=1e-9, generator=gen()).rbms
    # An RBM's visible biases start at the log-odds of its data's means (and lr ~ 0 keeps them).
    p = first.transform(x).mean(0).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(second.visible_bias, torch.log(p / (1 - p)), atol=1e-4, rtol=0)
    # The first hidden layer of the model computes the first RBM's hidden probabilities.
    torch.testing.assert_close(model.hidden[0](x), first.transform(x))


@pytest.mark.parametrize("scheme", ["zeros", "orthogonal", "glorot_uniform"])
def test_head_gets_the_static_scheme_and_a_zero_bias(digits, scheme):
    model = mlp((1, 8, 8), 10, depth=1, width=32, activation="sigmoid")
    nn.init.constant_(model.head.bias, 0.7)
    report = dbn_pretrain_(model, digits.all_inputs, epochs=1, output_init=scheme, generator=gen())
    w = model.head.weight.detach()
    assert report.output_init == scheme
    assert torch.equal(model.head.bias.detach(), torch.zeros(10))
    if scheme == "zeros":
        assert torch.equal(w, torch.zeros(10, 32))
    elif scheme == "orthogonal":  # rows orthonormal
        torch.testing.assert_close(w @ w.T, torch.eye(10), atol=1e-5, rtol=0)
    else:
        assert w.abs().max() <= math.sqrt(6 / 42) and w.std() > 0.5 * math.sqrt(2 / 42)


def test_head_scheme_reads_the_model_activation(digits):
    stds = {}
    for activation in ("tanh", "relu"):
        model = mlp((1, 8, 8), 64, depth=1, width=256, activation=activation)
        dbn_pretrain_(model, digits.all_inputs[:200], epochs=1, output_init="he_normal",
                      generator=gen())
        stds[activation] = model.head.weight.std().item() * math.sqrt(256)
    assert stds["tanh"] == pytest.approx(5 / 3, rel=0.05)
    assert stds["relu"] == pytest.approx(math.sqrt(2), rel=0.05)


def test_visible_auto_selects_from_the_data_range():
    unit = load_dataset("digits", normalize="unit").all_inputs
    standard = load_dataset("digits", normalize="standardize").all_inputs
    for x, expected in ((unit, "bernoulli"), (standard, "gaussian")):
        model = mlp((1, 8, 8), 10, depth=2, width=16, activation="sigmoid")
        report = dbn_pretrain_(model, x, epochs=1, generator=gen())
        assert [layer.visible for layer in report.layers] == [expected, "bernoulli"]
        assert (report.layers[0].pseudo_ll is None) == (expected == "gaussian")
    model = mlp((1, 8, 8), 10, depth=1, width=16)
    report = dbn_pretrain_(model, unit, epochs=1, visible="gaussian", generator=gen())
    assert report.layers[0].visible == "gaussian"


def test_batch_norm_and_dropout_mlps_are_accepted(digits):
    model = mlp((1, 8, 8), 10, depth=2, width=16, batch_norm=True, dropout=0.2)
    report = dbn_pretrain_(model, digits.all_inputs, epochs=1, persistent=True, k=2,
                           generator=gen())
    for linear, rbm in zip(model.hidden_layers(), report.rbms, strict=True):
        assert torch.equal(linear.weight.detach(), rbm.weight)


def test_rbm_options_reach_every_rbm(digits):
    weights = {}
    for decay in (0.0, 0.05):
        model = mlp((1, 8, 8), 10, depth=2, width=16)
        report = dbn_pretrain_(model, digits.all_inputs, epochs=3, weight_decay=decay,
                               momentum=0.0, final_momentum=0.0, generator=gen())
        weights[decay] = [rbm.weight.norm().item() for rbm in report.rbms]
    assert all(strong < 0.9 * none for strong, none in zip(weights[0.05], weights[0.0], strict=True))


def test_every_rbm_option_is_a_dbn_option_and_trains_as_rbm_fit_does(digits):
    assert option_names(dbn_pretrain_) == [f.name for f in fields(CDOptions)] + [
        "visible", "output_init"]
    model = mlp((1, 8, 8), 10, depth=1, width=16)
    dbn_pretrain_(model, digits.all_inputs, epochs=3, k=2, momentum_switch_epoch=1,
                  generator=gen())
    g = gen()
    rbm = RBM(64, 16, generator=g)
    rbm.fit(digits.all_inputs, CDOptions(epochs=3, k=2, momentum_switch_epoch=1), generator=g)
    weight = model.hidden_layers()[0].weight.detach()
    assert torch.equal(weight, rbm.weight)
    switch_at_5 = mlp((1, 8, 8), 10, depth=1, width=16)  # momentum 0.5 in all 3 epochs
    dbn_pretrain_(switch_at_5, digits.all_inputs, epochs=3, k=2, generator=gen())
    assert not torch.equal(switch_at_5.hidden_layers()[0].weight.detach(), weight)


@pytest.mark.parametrize("pretrain", [dbn_pretrain_, autoencoder_pretrain_])
@pytest.mark.parametrize("output_init, match", [
    ("constant", r"init\.output_init = 'constant': expected a scheme that needs no options: "
                 r"one of zeros, uniform, .*glorot_uniform"),
    ("glorot_unifrom", r"init\.output_init = 'glorot_unifrom'.*did you mean 'glorot_uniform'"),
])
def test_a_bad_head_scheme_stops_before_any_training(digits, pretrain, output_init, match):
    model = mlp((1, 8, 8), 10, depth=2, width=16, activation="sigmoid")
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ConfigError, match=match):
        pretrain(model, digits.all_inputs, epochs=1, output_init=output_init)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_names_each_rbm_on_a_terminal_only(digits, monkeypatch, capsys):
    model = mlp((1, 8, 8), 10, depth=2, width=16)
    dbn_pretrain_(model, digits.all_inputs, epochs=1, progress=True, generator=gen())
    assert capsys.readouterr() == ("", "")
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    dbn_pretrain_(model, digits.all_inputs, epochs=2, progress=True, generator=gen())
    drawn = stderr.getvalue()
    assert "rbm 1/2 64→16" in drawn and "rbm 2/2 16→16" in drawn and "recon" in drawn
    assert capsys.readouterr().out == ""


def test_same_seed_same_model(digits):
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = mlp((1, 8, 8), 10, depth=2, width=16)
        dbn_pretrain_(model, digits.all_inputs, epochs=1, generator=gen(5))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


@pytest.mark.parametrize("model, match", [
    (cnn((1, 8, 8), 10, channels=[4]), "got a cnn"),
    (mlp((1, 8, 8), 10, activation="maxout"), "got an mlp with activation 'maxout'"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), "got a Sequential model"),
])
def test_unsupported_models_say_what_is_supported(digits, model, match):
    with pytest.raises(TrainwellError, match="needs a trainwell mlp with a non-maxout activation") \
            as info:
        dbn_pretrain_(model, digits.all_inputs, epochs=1)
    assert match in str(info.value)


def test_bad_inputs_and_options(digits):
    model = mlp((1, 8, 8), 10, depth=1, width=8)
    with pytest.raises(TrainwellError, match="N >= 1 samples with 64 values"):
        dbn_pretrain_(model, digits.all_inputs[:0])
    with pytest.raises(TrainwellError, match="64 values each"):
        dbn_pretrain_(model, torch.rand(10, 5))
    for options, key in (({"k": 0}, "init.k"), ({"epochs": 0}, "init.epochs"),
                         ({"visible": "binary"}, "init.visible"),
                         ({"batch_size": -1}, "init.batch_size")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            dbn_pretrain_(model, digits.all_inputs, **options)
    with pytest.raises(ConfigError, match=r"init\.output_init.*did you mean 'glorot_uniform'"):
        dbn_pretrain_(model, digits.all_inputs, epochs=1, output_init="glorot_uniformm")
    with pytest.raises(TrainwellError, match=r"inputs in \[0, 1\]"):
        dbn_pretrain_(model, digits.all_inputs * 2 - 1, visible="bernoulli", epochs=1)
