"""RBM: CD-k and PCD against the exact likelihood of a tiny RBM, training on digits, I/O, errors."""

from __future__ import annotations

import ast
import itertools
import math
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.errors import ConfigError, TrainwellError
from trainwell.pretrain import RBM, CDOptions, RBMHistory, cd_options, contrastive


def all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def exact_nll(rbm, data):
    """Mean -log p(v) over ``data``, the partition function summed over every visible state."""
    log_z = torch.logsumexp(-rbm.free_energy(all_states(rbm.n_visible)), 0)
    return (rbm.free_energy(data) + log_z).mean().item()


def flat_params(rbm):
    return torch.cat([rbm.weight.flatten(), rbm.hidden_bias, rbm.visible_bias]).clone()


def exact_gradient(rbm, data):
    """d mean log p(data) / d (W, c, b): data statistics minus model statistics, by enumeration."""
    states = all_states(rbm.n_visible)
    p_model = torch.softmax(-rbm.free_energy(states), 0)

    def stats(v, weights):
        ph = weights[:, None] * rbm.transform(v)
        return torch.cat([(ph.T @ v).flatten(), ph.sum(0), (weights[:, None] * v).sum(0)])

    return stats(data, torch.full((len(data),), 1 / len(data), dtype=torch.float64)) - \
        stats(states, p_model)


@pytest.fixture(scope="module")
def tiny_data():
    """30 noisy copies of three 6-bit prototypes: correlated units an independent model misses."""
    g = torch.Generator().manual_seed(0)
    protos = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]],
                          dtype=torch.float64)
    data = protos[torch.randint(0, 3, (30,), generator=g)]
    return (data + (torch.rand(data.shape, generator=g) < 0.1)) % 2


def tiny_rbm(scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    rbm = RBM(6, 4, dtype=torch.float64, generator=g)
    for t in (rbm.weight, rbm.hidden_bias, rbm.visible_bias):
        t.normal_(0.0, scale, generator=g)
    rbm.trained = True  # keep these parameters: fit must not reset the visible biases
    return rbm


@pytest.mark.parametrize("scale", [0.3, 1.0])
@pytest.mark.parametrize("name, options", [
    ("cd1", {"k": 1, "batch_size": 6000, "epochs": 1}),
    ("cd5", {"k": 5, "batch_size": 6000, "epochs": 1}),
    ("pcd", {"persistent": True, "batch_size": 1000, "epochs": 5}),
])
def test_gradient_estimate_follows_the_exact_gradient(tiny_data, scale, name, options):
    rbm = tiny_rbm(scale)
    exact = exact_gradient(rbm, tiny_data)
    before, lr = flat_params(rbm), 1e-4
    data = tiny_data.repeat(200, 1)
    rbm.fit(data, lr=lr, momentum=0.0, final_momentum=0.0, weight_decay=0.0,
            generator=torch.Generator().manual_seed(1), **options)
    updates = math.ceil(len(data) / options["batch_size"]) * options["epochs"]
    estimate = (flat_params(rbm) - before) / (lr * updates)
    corr = torch.corrcoef(torch.stack([estimate, exact]))[0, 1].item()
    assert corr > 0.9, (name, corr)
    if name == "pcd":  # persistent chains near equilibrium: nearly unbiased
        assert (estimate - exact).norm() < 0.1 * exact.norm()


@pytest.mark.parametrize("options", [{}, {"k": 3}, {"persistent": True}], ids=["cd1", "cd3", "pcd"])
def test_training_lowers_the_exact_negative_log_likelihood(tiny_data, options):
    rbm = RBM(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    p = tiny_data.mean(0)
    independent = -(tiny_data * p.log() + (1 - tiny_data) * (1 - p).log()).sum(1).mean().item()
    before = exact_nll(rbm, tiny_data)
    rbm.fit(tiny_data.repeat(10, 1), epochs=40, generator=torch.Generator().manual_seed(2),
            **options)
    after = exact_nll(rbm, tiny_data)
    assert after < before - 0.5
    assert after < independent - 0.2  # it learned the correlations, not just the marginals


def test_free_energy_matches_its_definition_and_the_formula(tiny_data):
    rbm = tiny_rbm(1.0)
    v = tiny_data[:5]
    hidden = all_states(4)
    energy = -(v @ rbm.visible_bias)[:, None] - (hidden @ rbm.hidden_bias)[None, :] \
        - torch.einsum("nv,hv->nh", v, hidden @ rbm.weight)
    by_sum = -torch.logsumexp(-energy, 1)
    hidden_input = v @ rbm.weight.T + rbm.hidden_bias
    formula = -(v @ rbm.visible_bias) - torch.log1p(torch.exp(hidden_input)).sum(1)
    torch.testing.assert_close(rbm.free_energy(v), by_sum)
    torch.testing.assert_close(rbm.free_energy(v), formula)


def test_gaussian_free_energy_formula():
    rbm = RBM(5, 3, visible="gaussian", dtype=torch.float64,
              generator=torch.Generator().manual_seed(0))
    rbm.visible_bias.normal_(generator=torch.Generator().manual_seed(1))
    v = torch.randn(4, 5, dtype=torch.float64)
    formula = 0.5 * ((v - rbm.visible_bias) ** 2).sum(1) \
        - torch.nn.functional.softplus(v @ rbm.weight.T + rbm.hidden_bias).sum(1)
    torch.testing.assert_close(rbm.free_energy(v), formula)


def exact_pll(rbm, v):
    """The pseudo-log-likelihood: the sum over units of log p(v_i | v_-i), per row."""
    total = torch.zeros(len(v), dtype=v.dtype)
    for i in range(rbm.n_visible):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        total += torch.nn.functional.logsigmoid(rbm.free_energy(flipped) - rbm.free_energy(v))
    return total


def test_pseudo_likelihood_is_unbiased(tiny_data):
    rbm = tiny_rbm(1.0)
    v = tiny_data[:4]
    exact = exact_pll(rbm, v)
    many = rbm.pseudo_likelihood(v.repeat(20000, 1), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(many.view(20000, 4).mean(0), exact, atol=0.05, rtol=0.02)


@pytest.fixture(scope="module")
def digits_unit():
    return load_dataset("digits", normalize="unit").all_inputs


@pytest.mark.parametrize("epochs, options", [
    (15, {}), (15, {"k": 2}), (30, {"persistent": True, "final_momentum": 0.5}),
], ids=["cd1", "cd2", "pcd"])
def test_reconstruction_error_falls_on_digits(digits_unit, epochs, options):
    rbm = RBM(64, 64, generator=torch.Generator().manual_seed(0))
    history = rbm.fit(digits_unit, epochs=epochs, generator=torch.Generator().manual_seed(1),
                      **options)
    assert isinstance(history, RBMHistory)
    assert len(history.recon_error) == len(history.pseudo_ll) == len(history.seconds) == epochs
    assert all(math.isfinite(e) for e in history.recon_error + history.pseudo_ll)
    assert history.recon_error[-1] < 0.85 * history.recon_error[0]
    assert sum(history.pseudo_ll[-3:]) > sum(history.pseudo_ll[:3])
    mse = (rbm.reconstruct(digits_unit).view_as(digits_unit.flatten(1)) - digits_unit.flatten(1))
    assert mse.square().mean().item() < history.recon_error[0]
    assert rbm.trained


@pytest.mark.parametrize("persistent", [False, True], ids=["cd", "pcd"])
def test_monitored_errors_estimate_their_definitions(digits_unit, persistent):
    x = digits_unit.flatten(1)
    rbm = RBM(64, 32, generator=torch.Generator().manual_seed(0))
    history = rbm.fit(x.repeat(20, 1), epochs=1, lr=1e-12, batch_size=1000, persistent=persistent,
                      generator=torch.Generator().manual_seed(1))  # lr ~ 0: a fixed model
    assert history.pseudo_ll[0] == pytest.approx(exact_pll(rbm, x).mean().item(), rel=0.03)
    g = torch.Generator().manual_seed(2)
    many = x.repeat(10, 1)
    hidden = torch.bernoulli(rbm.transform(many), generator=g)
    recon = (rbm.visible_mean(hidden) - many).square().mean().item()
    assert history.recon_error[0] == pytest.approx(recon, rel=0.02)


def test_gaussian_visible_units_on_standardized_digits():
    x = load_dataset("digits", normalize="standardize").all_inputs
    rbm = RBM(64, 64, visible="gaussian", generator=torch.Generator().manual_seed(0))
    history = rbm.fit(x, epochs=15, generator=torch.Generator().manual_seed(1))
    assert history.pseudo_ll == []
    assert all(math.isfinite(e) for e in history.recon_error)
    assert history.recon_error[-1] < 0.8 * history.recon_error[0]
    torch.testing.assert_close(rbm.visible_bias.mean(), x.mean(), atol=0.2, rtol=0)
    sample = rbm.gibbs(x[:10], steps=3, generator=torch.Generator().manual_seed(2))
    assert sample.shape == (10, 64) and torch.isfinite(sample).all()


def test_visible_biases_start_at_the_log_odds_of_the_data(digits_unit):
    rbm = RBM(64, 8, generator=torch.Generator().manual_seed(0))
    rbm.fit(digits_unit, epochs=1, lr=1e-12)
    p = digits_unit.flatten(1).mean(0).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(rbm.visible_bias, torch.log(p / (1 - p)), atol=1e-4, rtol=1e-4)


def test_transform_gibbs_and_reconstruct_shapes_and_ranges(digits_unit):
    rbm = RBM(64, 20, generator=torch.Generator().manual_seed(0))
    assert rbm.weight.shape == (20, 64) and rbm.hidden_bias.shape == (20,)
    assert rbm.visible_bias.shape == (64,)
    assert 0.005 < rbm.weight.std().item() < 0.015
    h = rbm.transform(digits_unit[:7])  # (7, 1, 8, 8) is flattened
    assert h.shape == (7, 20) and ((h > 0) & (h < 1)).all()
    r = rbm.reconstruct(digits_unit[:7])
    assert r.shape == (7, 64) and ((r >= 0) & (r <= 1)).all()
    v = rbm.gibbs(digits_unit[:7], steps=2, generator=torch.Generator().manual_seed(0))
    assert set(v.unique().tolist()) <= {0.0, 1.0}


def test_same_seeds_same_rbm(digits_unit):
    runs = []
    for _ in range(2):
        rbm = RBM(64, 16, generator=torch.Generator().manual_seed(3))
        rbm.fit(digits_unit, epochs=2, generator=torch.Generator().manual_seed(4))
        runs.append(rbm.params.clone())
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


def test_save_load_round_trip(tmp_path, digits_unit):
    rbm = RBM(64, 16, generator=torch.Generator().manual_seed(0))
    rbm.fit(digits_unit, epochs=1)
    path = rbm.save(tmp_path / "rbm.safetensors")
    back = RBM.load(path)
    assert (back.n_visible, back.n_hidden, back.visible) == (64, 16, "bernoulli")
    assert back.trained
    for name in ("weight", "hidden_bias", "visible_bias"):
        torch.testing.assert_close(getattr(back, name), getattr(rbm, name), rtol=0, atol=0)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(TrainwellError, match="not a safetensors file"):
        RBM.load(tmp_path / "bad.safetensors")
    with pytest.raises(TrainwellError, match="no rbm file"):
        RBM.load(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("options, key", [
    ({"k": 0}, "rbm.k"), ({"epochs": 0}, "rbm.epochs"), ({"lr": -0.1}, "rbm.lr"),
    ({"batch_size": 0}, "rbm.batch_size"), ({"momentum": 1.0}, "rbm.momentum"),
    ({"epochs": 2.5}, "rbm.epochs"), ({"weight_decay": float("nan")}, "rbm.weight_decay"),
])
def test_bad_options_name_the_key(options, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        RBM(4, 2).fit(torch.rand(10, 4), **options)


def test_bad_inputs_say_what_is_expected():
    with pytest.raises(TrainwellError, match=r"inputs in \[0, 1\].*normalize = 'unit'"):
        RBM(4, 2).fit(torch.randn(10, 4))
    with pytest.raises(TrainwellError, match="4 values each"):
        RBM(4, 2).fit(torch.rand(10, 5))
    with pytest.raises(TrainwellError, match="at least one input"):
        RBM(4, 2).fit(torch.rand(0, 4))
    with pytest.raises(TrainwellError, match="NaN"):
        RBM(4, 2, visible="gaussian").fit(torch.tensor([[0.0, 1.0, float("nan"), 2.0]]))
    with pytest.raises(ConfigError, match="rbm.visible"):
        RBM(4, 2, visible="binary")
    with pytest.raises(ConfigError, match="rbm.n_hidden"):
        RBM(4, 0)
    with pytest.raises(TrainwellError, match="gaussian"):
        RBM(4, 2, visible="gaussian").pseudo_likelihood(torch.rand(3, 4))


def test_progress_bar_only_when_asked_and_stderr_is_a_terminal(digits_unit, capsys):
    RBM(64, 8).fit(digits_unit, epochs=2)
    assert capsys.readouterr() == ("", "")
    history = RBM(64, 8).fit(digits_unit, epochs=2, progress=True)
    assert len(history.recon_error) == 2
    assert capsys.readouterr() == ("", "")


def test_fit_takes_an_options_object_and_keywords_that_replace_its_fields(digits_unit):
    def trained(*args, **keywords):
        rbm = RBM(64, 8, generator=torch.Generator().manual_seed(0))
        history = rbm.fit(digits_unit, *args, generator=torch.Generator().manual_seed(1),
                          **keywords)
        return rbm.params, history

    options = CDOptions(epochs=2, k=2, persistent=True, momentum_switch_epoch=1)
    by_object, history = trained(options)
    by_keywords, _ = trained(**asdict(options))
    assert torch.equal(by_object, by_keywords) and len(history.recon_error) == 2
    _, history = trained(options, epochs=3)
    assert len(history.recon_error) == 3
    with pytest.raises(ConfigError, match=r"rbm\.epochs = 0"):
        trained(options, epochs=0)
    with pytest.raises(ConfigError, match=r"rbm\.kk = 2: expected a known option.*did you mean 'k'"):
        trained(kk=2)


def test_training_and_its_options_do_not_import_the_rbm_module():
    for module in (contrastive, cd_options):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for a in node.names}
        assert not {name for name in imported if name.startswith("trainwell.pretrain")} - {
            "trainwell.pretrain.cd_options"}, module.__name__
