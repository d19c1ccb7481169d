"""autoencoder_pretrain_: reconstruction improves, tied weights, the model keeps the encoders, errors."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from trainwell.data import load_dataset
from trainwell.errors import ConfigError, TrainwellError
from trainwell.init import gain
from trainwell.models import cnn, mlp
from trainwell.params import validate_params
from trainwell.pretrain.autoencoder import AutoencoderReport, _Autoencoder, autoencoder_pretrain_


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").all_inputs


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def build(activation="relu", **options):
    torch.manual_seed(0)
    return mlp((1, 8, 8), 10, depth=3, width=32, activation=activation, **options)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_reconstruction_error_falls_in_every_layer(tied, activation, digits):
    model = build(activation)
    report = autoencoder_pretrain_(model, digits, epochs=6, tied=tied, generator=seeded())
    assert isinstance(report, AutoencoderReport) and report.tied is tied
    assert [(r.name, r.in_features, r.out_features) for r in report.layers] == [
        ("hidden.0.linear", 64, 32), ("hidden.1.linear", 32, 32), ("hidden.2.linear", 32, 32)]
    for layer in report.layers:
        assert len(layer.mse) == 6
        assert layer.mse[-1] < 0.7 * layer.mse[0], layer.name
        assert layer.mse[-1] < layer.initial_mse, layer.name
        assert all(b < a for a, b in zip(layer.mse, layer.mse[1:], strict=False)), layer.mse
        assert layer.seconds > 0
    assert report.seconds >= sum(layer.seconds for layer in report.layers)


def test_the_model_keeps_the_trained_encoders(digits):
    model = build("tanh")
    start = copy.deepcopy(model.state_dict())
    report = autoencoder_pretrain_(model, digits, epochs=2, generator=seeded())
    for layer, record in zip(model.hidden_layers(), report.layers, strict=True):
        assert torch.equal(layer.weight, record.weight) and torch.equal(layer.bias, record.bias)
        assert record.weight.data_ptr() != layer.weight.data_ptr()  # the report holds a copy
        assert not torch.equal(record.weight, start[f"{record.name}.weight"])
    assert all(p.grad is None for p in model.parameters())


def test_each_layer_learns_from_the_previous_encoder_outputs(digits):
    """The second auto-encoder's starting MSE is that of its own codes, recomputed here by hand."""
    model = build("relu")
    second = copy.deepcopy(model.hidden[1].linear)
    report = autoencoder_pretrain_(model, digits, epochs=2, generator=seeded())
    first = report.layers[0]
    codes = torch.relu(F.linear(digits.flatten(1), first.weight, first.bias))
    decoded = F.linear(torch.relu(second(codes)), second.weight.t())  # the decoder bias starts at 0
    assert report.layers[1].initial_mse == pytest.approx(F.mse_loss(decoded, codes).item(), rel=1e-5)


def test_same_seed_same_result(digits):
    a, b = build("relu"), build("relu")
    ra = autoencoder_pretrain_(a, digits, epochs=2, tied=False, generator=seeded(3))
    rb = autoencoder_pretrain_(b, digits, epochs=2, tied=False, generator=seeded(3))
    assert ra.layers[-1].mse == rb.layers[-1].mse
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_head_gets_the_named_scheme_with_the_model_gain(activation, digits):
    model = build(activation)
    with torch.no_grad():
        model.head.bias.fill_(5.0)
    autoencoder_pretrain_(model, digits, epochs=1, output_init="orthogonal", generator=seeded())
    w = model.head.weight.detach()
    assert torch.allclose(w @ w.T, gain(activation) ** 2 * torch.eye(10), atol=1e-4)
    assert model.head.bias.abs().max().item() == 0.0


def test_the_head_gets_glorot_uniform_by_default(digits):
    model = build("relu")
    autoencoder_pretrain_(model, digits, epochs=1, generator=seeded())
    limit = math.sqrt(6 / (32 + 10))
    w = model.head.weight.detach().flatten().numpy()
    assert abs(w).max() <= limit
    assert stats.kstest(w, "uniform", args=(-limit, 2 * limit)).pvalue > 1e-4


def test_tied_decoder_shares_the_encoder_weight():
    torch.manual_seed(0)
    encoder = nn.Linear(6, 4)
    x = torch.randn(50, 6, generator=seeded())
    tied = _Autoencoder(encoder, nn.Tanh(), tied=True)
    assert [p is encoder.weight for p in tied.parameters()].count(True) == 1
    assert len(list(tied.parameters())) == 3  # W, b and the decoder bias: no decoder weight
    (full,) = torch.autograd.grad(F.mse_loss(tied(x), x), encoder.weight)
    w, b, c = encoder.weight, encoder.bias, tied.decoder_bias
    enc_side = F.linear(torch.tanh(F.linear(x, w, b)), w.detach().t(), c)
    dec_side = F.linear(torch.tanh(F.linear(x, w.detach(), b)), w.t(), c)
    (g_enc,) = torch.autograd.grad(F.mse_loss(enc_side, x), w)
    (g_dec,) = torch.autograd.grad(F.mse_loss(dec_side, x), w)
    assert g_enc.abs().sum() > 0 and g_dec.abs().sum() > 0
    assert torch.allclose(full, g_enc + g_dec, atol=1e-6)
    untied = _Autoencoder(encoder, nn.Tanh(), tied=False, generator=seeded())
    assert len(list(untied.parameters())) == 4 and untied.decoder_weight.shape == (6, 4)


def test_the_report_says_whether_a_decoder_weight_existed(digits):
    tied = autoencoder_pretrain_(build(), digits, epochs=1, tied=True, generator=seeded())
    untied = autoencoder_pretrain_(build(), digits, epochs=1, tied=False, generator=seeded())
    assert all(layer.decoder_weight is None for layer in tied.layers)
    assert [tuple(layer.decoder_weight.shape) for layer in untied.layers] == [(64, 32), (32, 32), (32, 32)]
    assert [tuple(layer.decoder_bias.shape) for layer in tied.layers] == [(64,), (32,), (32,)]
    lines = str(untied).splitlines()
    assert "untied decoders" in lines[0] and "glorot_uniform" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == [layer.name for layer in untied.layers]
    assert float(lines[2].split()[3]) == pytest.approx(untied.layers[0].mse[-1], rel=1e-3)


def test_progress_bar_and_batch_norm_model_run(digits, capsys):
    model = build("relu", batch_norm=True, dropout=0.1)
    report = autoencoder_pretrain_(model, digits[:300], epochs=2, batch_size=64, progress=True,
                                   generator=seeded())
    assert all(layer.mse[-1] < layer.initial_mse for layer in report.layers)
    assert capsys.readouterr() == ("", "")  # stderr is not a terminal here


def test_signature_is_a_recipe_validator():
    assert validate_params(autoencoder_pretrain_, {}, key="init") == {
        "epochs": 10, "lr": 1e-3, "batch_size": 100, "tied": True,
        "output_init": "glorot_uniform"}
    with pytest.raises(ConfigError, match=r"init\.epochs = 0"):
        validate_params(autoencoder_pretrain_, {"epochs": 0}, key="init")


@pytest.mark.parametrize("model,got", [
    (lambda: cnn((1, 8, 8), 10, channels=[8]), "got a trainwell cnn"),
    (lambda: mlp((1, 8, 8), 10, activation="maxout"), "got an mlp with activation 'maxout'"),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), "got a torch.nn.modules.container.Sequential"),
])
def test_unsupported_models(model, got, digits):
    with pytest.raises(TrainwellError, match="autoencoder pre-training needs a trainwell mlp with a "
                                             f"non-maxout activation; {got}"):
        autoencoder_pretrain_(model(), digits)


@pytest.mark.parametrize("options,match", [
    ({"epochs": 0}, r"init\.epochs = 0: expected an integer >= 1"),
    ({"epochs": True}, r"init\.epochs = True"),
    ({"lr": -1.0}, r"init\.lr = -1\.0: expected a finite number > 0"),
    ({"lr": float("inf")}, r"init\.lr = inf"),
    ({"batch_size": 0}, r"init\.batch_size = 0"),
    ({"tied": "yes"}, r"init\.tied = 'yes': expected true or false"),
    ({"output_init": "glorot_unifrom"},
     r"init\.output_init = 'glorot_unifrom'.*did you mean 'glorot_uniform'"),
    ({"output_init": "constant"}, r"init\.output_init = 'constant': expected a scheme that needs no options"),
])
def test_bad_options_change_nothing(options, match, digits):
    model = build()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ConfigError, match=match):
        autoencoder_pretrain_(model, digits, **options)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_bad_inputs(digits):
    model = build()
    with pytest.raises(TrainwellError, match=r"have 40 features per sample; the mlp's first layer takes 64"):
        autoencoder_pretrain_(model, torch.randn(20, 1, 40))
    with pytest.raises(TrainwellError, match="float tensor .* got a Dataset"):
        autoencoder_pretrain_(model, load_dataset("digits"))
    with pytest.raises(TrainwellError, match="0 samples"):
        autoencoder_pretrain_(model, digits[:0])
    bad = digits[:50].clone()
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(TrainwellError, match="nan or inf"):
        autoencoder_pretrain_(model, bad)
