"""lsuv_: each layer's output std reaches the target on real data, the report, orthonormal start, errors."""

import copy

import pytest
import torch
from torch import nn

from trainwell.data import load_dataset
from trainwell.errors import ConfigError, TrainwellError
from trainwell.init import LAYERS
from trainwell.init.lsuv import LAYERS as LSUV_LAYERS
from trainwell.init.lsuv import MIN_BATCH, LSUVReport, lsuv_
from trainwell.models import cnn, mlp
from trainwell.params import validate_params

HELD_OUT_SLACK = 2.0
"""A second batch of the same data may miss the target by up to 2·tol (LSUV fits the first)."""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").x_train


@pytest.fixture(scope="module")
def mnist1d():
    return load_dataset("mnist1d", num_samples=1000).x_train


def layer_stds(model, batch):
    """Std of every Linear/Conv output on ``batch`` (eval mode), by module name, in call order."""
    names = {m: n for n, m in model.named_modules()}
    stds = {}

    def record(module, inputs, output):
        stds.setdefault(names[module], output.std().item())

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, LAYERS)]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(batch)
    model.train(was)
    for h in hooks:
        h.remove()
    return stds


def is_orthonormal(w):
    m = w.reshape(w.shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return torch.allclose(gram, torch.eye(len(gram)), atol=1e-4)


CASES = [
    ("mlp", act) for act in ("relu", "tanh", "maxout")
] + [("cnn", act) for act in ("relu", "tanh", "maxout")] + [("cnn1d", "relu")]


def build(kind, activation):
    torch.manual_seed(0)
    if kind == "mlp":
        return mlp((1, 8, 8), 10, depth=4, width=64, activation=activation)
    if kind == "cnn":
        return cnn((1, 8, 8), 10, channels=[16, 32], kernel_size=3, activation=activation)
    return cnn((1, 40), 10, channels=[16, 32], activation=activation)


@pytest.mark.parametrize("kind,activation", CASES)
@pytest.mark.parametrize("target", [1.0, 0.5])
def test_every_layer_reaches_the_target_std(kind, activation, target, digits, mnist1d):
    x = mnist1d if kind == "cnn1d" else digits
    fit, held_out = x[:256], x[256:512]
    model = build(kind, activation)
    report = lsuv_(model, fit, target_std=target, generator=torch.Generator().manual_seed(1))
    expected = [n for n, m in model.named_modules() if isinstance(m, LAYERS)]
    assert [layer.name for layer in report.layers] == expected  # forward order = definition order here
    assert expected[-1] == "head" and report.converged
    fit_stds, held_stds = layer_stds(model, fit), layer_stds(model, held_out)
    for layer in report.layers:
        assert layer.converged
        assert abs(layer.std_after - target) <= report.tol
        assert fit_stds[layer.name] == pytest.approx(layer.std_after, rel=1e-5)
        assert abs(held_stds[layer.name] - target) <= HELD_OUT_SLACK * report.tol, layer.name


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_orthonormal_start_then_one_rescaling_per_layer(kind, digits):
    """With zero biases one rescaling is exact: W_final · std_before / target is the orthonormal start."""
    model = build(kind, "relu")
    batch, target = digits[:200], 3.0
    report = lsuv_(model, batch, target_std=target, generator=torch.Generator().manual_seed(0))
    modules = dict(model.named_modules())
    for layer in report.layers:
        module = modules[layer.name]
        assert layer.iterations == 1 and layer.converged
        assert layer.std_after == pytest.approx(target, rel=1e-4)
        start = module.weight.detach() * layer.std_before / target
        assert is_orthonormal(start), layer.name
        assert module.bias.abs().max().item() == 0.0
        # std_before is this layer's output std with the start weight, earlier layers already rescaled
        probe = copy.deepcopy(model)
        dict(probe.named_modules())[layer.name].weight.data.copy_(start)
        assert layer_stds(probe, batch)[layer.name] == pytest.approx(layer.std_before, rel=1e-4)
    assert any(is_orthonormal(m.weight) is False for m in model.modules() if isinstance(m, LAYERS))


def test_biases_need_several_rescalings_and_orthonormal_false_keeps_weights_direction(digits):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 50), nn.Tanh(), nn.Linear(50, 10))
    with torch.no_grad():
        net[1].bias.normal_(0, 0.6)
    before = net[1].weight.detach().clone()
    report = lsuv_(net, digits[:256], tol=0.01, orthonormal=False)
    first = report.layers[0]
    assert first.iterations >= 2 and first.converged
    ratio = net[1].weight.detach() / before
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4)  # only rescaled
    assert abs(layer_stds(net, digits[:256])["1"] - 1.0) <= report.tol


def test_a_layer_that_cannot_converge_is_reported(digits):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 50))
    with torch.no_grad():
        net[1].bias.normal_(0, 3.0)  # the bias alone has std ~3 > target + tol
    report = lsuv_(net, digits[:64], orthonormal=False, max_iter=4)
    (layer,) = report.layers
    assert layer.iterations == 4 and not layer.converged and not report.converged
    assert layer.std_after > 1.0 + report.tol
    text = str(report)
    assert "NO" in text and "target std 1 ± 0.1" in text
    assert text.splitlines()[2].split()[:1] == ["1"]


def test_report_table_lists_every_layer(digits):
    report = lsuv_(build("mlp", "tanh"), digits[:64], generator=torch.Generator().manual_seed(0))
    assert isinstance(report, LSUVReport)
    lines = str(report).splitlines()
    assert len(lines) == 2 + len(report.layers)
    for line, layer in zip(lines[2:], report.layers, strict=True):
        assert line.split()[0] == layer.name and line.split()[-1] == "yes"
        assert float(line.split()[1]) == pytest.approx(layer.std_before, rel=1e-3)


def test_batch_norm_model_modes_and_running_stats_are_kept(digits):
    model = mlp((1, 8, 8), 10, depth=3, width=32, batch_norm=True, dropout=0.2)
    model.train()
    model.hidden[1].norm.eval()
    modes = {n: m.training for n, m in model.named_modules()}
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "tracked" in k}
    report = lsuv_(model, digits[:128], generator=torch.Generator().manual_seed(0))
    assert report.converged and len(report.layers) == 4
    assert {n: m.training for n, m in model.named_modules()} == modes
    for key, value in stats.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert all(p.grad is None for p in model.parameters())
    for name, std in layer_stds(model, digits[:128]).items():
        assert abs(std - 1.0) <= report.tol, name


def test_unused_layers_are_left_out_and_the_layer_tuple_matches_init():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
            self.unused = nn.Linear(3, 3)
            self.out = nn.Linear(16, 2)

        def forward(self, x):
            return self.out(self.body(x))

    net = Net()
    report = lsuv_(net, torch.randn(32, 8, generator=torch.Generator().manual_seed(0)))
    assert [layer.name for layer in report.layers] == ["body.0", "out"]
    assert is_orthonormal(net.unused.weight)
    assert LSUV_LAYERS is LAYERS  # one definition, shared with apply_


def test_forward_order_is_call_order_not_definition_order():
    class Reversed(nn.Module):
        def __init__(self):
            super().__init__()
            self.late = nn.Linear(16, 4)
            self.early = nn.Linear(8, 16)

        def forward(self, x):
            return self.late(torch.tanh(self.early(x)))

    report = lsuv_(Reversed(), torch.randn(32, 8, generator=torch.Generator().manual_seed(0)))
    assert [layer.name for layer in report.layers] == ["early", "late"]


def test_signature_is_a_recipe_validator():
    assert validate_params(lsuv_, {}, key="init") == {
        "target_std": 1.0, "tol": 0.1, "max_iter": 10, "orthonormal": True}
    with pytest.raises(ConfigError, match=r"init\.max_iter = 0"):
        validate_params(lsuv_, {"max_iter": 0}, key="init")


@pytest.mark.parametrize("options,match", [
    ({"target_std": 0.0}, r"init\.target_std = 0\.0: expected a finite number > 0"),
    ({"target_std": float("nan")}, r"init\.target_std = nan"),
    ({"target_std": True}, r"init\.target_std = True"),
    ({"tol": 0.0}, r"init\.tol = 0\.0: expected a number > 0 and < init\.target_std = 1\.0"),
    ({"tol": 2.0}, r"init\.tol = 2\.0"),
    ({"max_iter": 0}, r"init\.max_iter = 0: expected an integer >= 1"),
    ({"max_iter": 2.5}, r"init\.max_iter = 2\.5"),
    ({"orthonormal": "yes"}, r"init\.orthonormal = 'yes': expected true or false"),
])
def test_bad_options_name_the_key(options, match, digits):
    model = build("mlp", "relu")
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ConfigError, match=match):
        lsuv_(model, digits[:64], **options)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_small_or_bad_batches_are_rejected(digits):
    model = build("mlp", "relu")
    with pytest.raises(TrainwellError, match=f"at least {MIN_BATCH} samples .* got 8"):
        lsuv_(model, digits[:8])
    with pytest.raises(TrainwellError, match="float tensor .* got a list"):
        lsuv_(model, [[0.0] * 64] * 32)
    with pytest.raises(TrainwellError, match="float tensor .* got a torch.int64 tensor"):
        lsuv_(model, torch.zeros(32, 1, 8, 8, dtype=torch.long))
    bad = digits[:32].clone()
    bad[3, 0, 0, 0] = float("nan")
    with pytest.raises(TrainwellError, match="nan or inf"):
        lsuv_(model, bad)


def test_an_all_zero_batch_names_the_first_layer():
    with pytest.raises(TrainwellError, match=r"layer hidden\.0\.linear outputs a constant \(std 0\) "
                                             r"on this batch — the batch is all zeros"):
        lsuv_(build("mlp", "relu"), torch.zeros(32, 1, 8, 8))


def test_a_dead_layer_names_the_layer_after_it(digits):
    model = build("mlp", "relu")
    with torch.no_grad():
        model.hidden[0].linear.bias.fill_(-1e3)  # every ReLU of block 0 is off
        model.hidden[1].linear.bias.zero_()
    with pytest.raises(TrainwellError, match=r"layer hidden\.1\.linear outputs a constant \(std 0\).*"
                                             r"a previous layer's output is all zeros"):
        lsuv_(model, digits[:64], orthonormal=False)


def test_models_lsuv_cannot_handle():
    with pytest.raises(TrainwellError, match="Sequential has none: initialize it with a static scheme"):
        lsuv_(nn.Sequential(nn.Flatten(), nn.ReLU()), torch.randn(32, 4))

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 8)
            self.shared = nn.Linear(8, 8)

        def forward(self, x):
            return self.shared(torch.relu(self.shared(self.inp(x))))

    with pytest.raises(TrainwellError, match="layer shared is called 2 times in one forward pass"):
        lsuv_(Shared(), torch.randn(32, 4))

    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.never = nn.Linear(4, 4)

        def forward(self, x):
            return x * 2

    with pytest.raises(TrainwellError, match="no Linear or Conv layer of Skips is called"):
        lsuv_(Skips(), torch.randn(32, 4))
