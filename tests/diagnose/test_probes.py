"""probe: numbers against a hand computation, no side effects, layer pairing, every built-in model."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

from trainwell.data import load_dataset
from trainwell.diagnose import VERDICT_KINDS, Diagnosis, diagnose, find_layers, probe
from trainwell.diagnose.probes import SYMMETRY_RTOL
from trainwell.init import apply_
from trainwell.models import ACTIVATIONS, Maxout, build_model

RECTIFYING = {"relu"}  # units that can die; leaky_relu, elu, selu and gelu pass a gradient below 0
SATURATING = {"sigmoid", "tanh", "softsign"}


@pytest.fixture(scope="module")
def signals():
    ds = load_dataset("mnist1d", num_samples=1000)
    return ds.x_train[:128], ds.y_train[:128]


def close(actual, expected):
    torch.testing.assert_close(torch.tensor(float(actual)), torch.as_tensor(expected).float(),
                               rtol=1e-5, atol=1e-7)


def test_two_layer_numbers_match_a_hand_computation(digits):
    x, y = digits
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 6), nn.ReLU(), nn.Linear(6, 10))
    with torch.no_grad():
        net[1].bias[:2] = -100.0  # two units that can never fire
    d = probe(net, x, targets=y)

    w1, b1, w2, b2 = (p.detach() for p in net.parameters())
    xf = x.flatten(1)
    pre = xf @ w1.T + b1
    h = pre.clamp_min(0)
    logits = h @ w2.T + b2
    onehot = F.one_hot(y, 10).float()
    dlogits = (logits.softmax(1) - onehot) / len(y)
    dh = dlogits @ w2
    dw1 = (dh * (pre > 0)).T @ xf
    dw2 = dlogits.T @ h
    dead = int(((pre > 0).sum(0) == 0).sum()) / 6

    first, head = d.layers
    assert (first.name, first.activation, first.units, head.name, head.activation) == \
        ("1", "relu", 6, "3", "none")
    close(d.loss, -(logits.log_softmax(1) * onehot).sum(1).mean())
    close(first.act_mean, h.mean())
    close(first.act_std, h.std())
    assert first.dead_fraction == dead and dead >= 2 / 6
    close(first.grad_norm, dh.norm())
    close(first.weight_grad_norm, dw1.norm())
    close(first.weight_norm, w1.norm())
    close(first.weight_gain, w1.norm() / math.sqrt(6))
    close(first.bias_mean, b1.mean())
    close(head.act_mean, logits.mean())
    close(head.act_std, logits.std())
    close(head.grad_norm, dlogits.norm())
    close(head.weight_grad_norm, dw2.norm())
    assert head.dead_fraction is None and head.saturated_fraction is None
    assert sum(first.hist_counts) == h.numel() and len(first.hist_edges) == 51
    close(first.hist_edges[0], h.min())
    close(first.hist_edges[-1], h.max())
    assert first.hist_counts[0] >= int((h == 0).sum())


@pytest.mark.parametrize("act, module", [("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh())])
def test_saturated_fraction_is_the_share_of_outputs_near_a_bound(digits, act, module):
    x, y = digits
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), module, nn.Linear(8, 10))
    with torch.no_grad():
        net[1].bias[:3] = 20.0
    out = module(net[1](x.flatten(1))).detach()
    bound = (out < 0.01) | (out > 0.99) if act == "sigmoid" else out.abs() > 0.99
    s = probe(net, x, targets=y).layers[0]
    assert s.activation == act and s.dead_fraction is None
    assert s.saturated_fraction == pytest.approx(float(bound.float().mean()))
    assert s.saturated_fraction >= 3 / 8


def test_a_conv_channel_is_dead_when_it_fires_at_no_sample_and_no_position(digits):
    x, y = digits
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))
    with torch.no_grad():
        net[0].bias[0] = -100.0
        net[0].weight[1].zero_()
        net[0].bias[1] = 1e-3  # fires everywhere, barely
    pre = net[0](x).detach()
    s = probe(net, x, targets=y).layers[0]
    assert s.kind == "conv2d" and s.units == 4
    assert s.dead_fraction == int(((pre > 0).sum(dim=(0, 2, 3)) == 0).sum()) / 4 == 0.25


def test_identical_units_are_counted_within_the_tolerance():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 2))
    x = torch.randn(32, 10)
    assert probe(net, x).layers[0].symmetric_group == 1
    with torch.no_grad():
        net[0].weight[1:3] = net[0].weight[0]
        net[0].bias[1:3] = net[0].bias[0]
    assert probe(net, x).layers[0].symmetric_group == 3
    scale = float(torch.cat([net[0].weight.flatten(), net[0].bias]).detach().abs().max())
    with torch.no_grad():
        net[0].weight[2, 0] += 0.5 * SYMMETRY_RTOL * scale
    assert probe(net, x).layers[0].symmetric_group == 3
    with torch.no_grad():
        net[0].weight[2, 0] += 2 * SYMMETRY_RTOL * scale
    assert probe(net, x).layers[0].symmetric_group == 2
    with torch.no_grad():
        net[0].bias[1] += 0.1  # a different bias is a different unit
    assert probe(net, x).layers[0].symmetric_group == 1
    nn.init.constant_(net[0].weight, 0.3)
    nn.init.zeros_(net[0].bias)
    assert probe(net, x).layers[0].symmetric_group == 6


def test_maxout_units_are_identical_only_when_all_their_pieces_are():
    torch.manual_seed(0)
    net = nn.Sequential(Maxout(5, 4, k=2), nn.Linear(4, 3))
    with torch.no_grad():  # unit 1's first piece equals unit 0's first piece, its second does not
        net[0].linear.weight[2] = net[0].linear.weight[0]
        net[0].linear.bias[2] = net[0].linear.bias[0]
    s = probe(net, torch.randn(16, 5)).layers[0]
    assert (s.activation, s.units, s.symmetric_group) == ("maxout", 4, 1)
    with torch.no_grad():
        net[0].linear.weight[3] = net[0].linear.weight[1]
        net[0].linear.bias[3] = net[0].linear.bias[1]
    assert probe(net, torch.randn(16, 5)).layers[0].symmetric_group == 2


def test_update_ratio_of_plain_sgd_is_lr_times_gradient_over_weight(digits):
    x, y = digits
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    d = probe(net, x, targets=y, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    for s, layer in zip(d.layers, (net[1], net[3]), strict=True):
        assert s.update_ratio == pytest.approx(0.1 * s.weight_grad_norm / float(layer.weight.detach().norm()),
                                               rel=1e-4)


def test_probe_leaves_model_grads_buffers_optimizer_and_rng_as_they_were(digits):
    x, y = digits
    torch.manual_seed(0)

    def make():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(),
                            nn.Dropout(0.3), nn.Linear(16, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for i in range(2):
            opt.zero_grad()
            F.cross_entropy(net(x[i * 64:(i + 1) * 64]), y[i * 64:(i + 1) * 64]).backward()
            opt.step()
        return net, opt

    probed, opt = make()
    reference, ref_opt = make()
    groups = [id(g) for g in opt.param_groups]
    torch.manual_seed(7)
    d = probe(probed, x, targets=y, optimizer=opt)
    after_probe = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after_probe, torch.rand(3)), "the probe consumed random numbers"
    assert all(s.update_ratio is not None and s.update_ratio > 0 for s in d.layers)
    assert [id(g) for g in opt.param_groups] == groups
    for a, b in zip(probed.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for p, q in zip(probed.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], ref_opt.state[q][key])
    for net, o in ((probed, opt), (reference, ref_opt)):  # the next real step is the same
        torch.manual_seed(3)
        o.zero_grad()
        F.cross_entropy(net(x), y).backward()
        o.step()
    for p, q in zip(probed.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_without_targets_there_is_no_loss_and_no_gradient(digits):
    x, _ = digits
    net = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, depth=2, width=16)
    d = probe(net, x, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert d.loss is None and d.batch_size == len(x)
    assert all(s.grad_norm is None and s.weight_grad_norm is None and s.update_ratio is None
               for s in d.layers)
    assert all(s.act_std > 0 for s in d.layers)


def test_find_layers_pairs_each_layer_with_the_activation_of_its_own_block():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.relu(self.fc(x))

    shared = nn.Tanh()
    net = nn.Sequential(
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.1), nn.Sigmoid()),
        Functional(), nn.Linear(4, 4), shared, nn.Linear(4, 4), shared, nn.Identity(),
        nn.Linear(4, 2))
    found = [(layer.name, layer.activation) for layer in find_layers(net)]
    assert found == [("0.0", "sigmoid"), ("1.fc", "none"), ("2", "tanh"), ("4", "none"), ("7", "none")]
    d = probe(net, torch.randn(8, 3), targets=torch.zeros(8, dtype=torch.long))
    assert [s.index for s in d.layers] == [1, 2, 3, 4, 5]


MODELS = (
    [("mlp", "digits", {"activation": a, "batch_norm": bn, "depth": 2, "width": 16})
     for a in sorted(ACTIVATIONS) for bn in (False, True)]
    + [("cnn", data, {"activation": a, "batch_norm": bn, "channels": [4, 6], "kernel_size": 3})
       for data in ("digits", "signals") for a in ("relu", "tanh", "maxout") for bn in (False, True)]
)


@pytest.mark.parametrize("name, data, options", MODELS,
                         ids=[f"{n}-{d}-{o['activation']}-bn{int(o['batch_norm'])}" for n, d, o in MODELS])
def test_every_builtin_model_is_probed_layer_by_layer(request, name, data, options):
    x, y = request.getfixturevalue(data)
    torch.manual_seed(0)
    model = build_model(name, input_shape=tuple(x.shape[1:]), num_classes=10, **options)
    d = diagnose(model, x, y, optimizer=torch.optim.SGD(model.parameters(), lr=0.05))
    act = options["activation"]
    hidden = model.hidden_layers()
    assert len(d.layers) == len(hidden) + 1
    assert [s.activation for s in d.layers] == [act] * len(hidden) + ["none"]
    assert [s.units for s in d.layers] == ([16, 16, 10] if name == "mlp" else [4, 6, 10])
    assert d.layers[-1].kind == "linear"
    assert all(s.kind == ("linear" if name == "mlp" else f"conv{x.dim() - 2}d") for s in d.layers[:-1])
    for s in d.layers:
        assert all(math.isfinite(v) for v in (s.act_mean, s.act_std, s.grad_norm,
                                              s.weight_grad_norm, s.update_ratio))
        assert s.grad_norm > 0 and s.weight_grad_norm > 0 and sum(s.hist_counts) > 0
        assert (s.dead_fraction is not None) == (s.activation in RECTIFYING)
        assert (s.saturated_fraction is not None) == (s.activation in SATURATING)
    assert d.verdicts and all(v.kind in VERDICT_KINDS for v in d.verdicts)
    text = json.dumps(d.to_dict(), allow_nan=False)
    assert Diagnosis.from_dict(json.loads(text)) == d


def test_table_shows_every_layer_and_the_verdicts(digits):
    x, y = digits
    model = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, depth=2, width=16)
    apply_(model, "zeros")
    d = diagnose(model, x, y)
    console = Console(record=True, width=240)
    console.print(d.table())
    text = console.export_text()
    assert "hidden.0.linear" in text and "hidden.1.linear" in text and "head" in text
    assert "symmetric units: all 16 units of layer 1" in text
