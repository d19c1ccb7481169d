import copy
import math

import pytest
import torch

from trainwell.errors import ConfigError
from trainwell.optim import OPTIMIZERS, build_optimizer, needs_closure, rules

# (optimizer name, options for build_optimizer, hyper-parameters for the hand rule)
CASES = [
    ("sgd", {"lr": 0.1}, {"lr": 0.1}),
    ("momentum", {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.9}),
    ("nesterov", {"lr": 0.05, "momentum": 0.8}, {"lr": 0.05, "momentum": 0.8}),
    ("adagrad", {"lr": 0.1, "eps": 1e-7}, {"lr": 0.1, "eps": 1e-7}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-7}, {"lr": 0.01, "alpha": 0.9, "eps": 1e-7}),
    ("adam", {"lr": 0.01, "betas": [0.8, 0.99]}, {"lr": 0.01, "betas": [0.8, 0.99]}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weight_decay": 0.1}),
]
UNCORRECTED = ("adam", {"lr": 0.01, "betas": [0.8, 0.99], "bias_correction": False},
               {"lr": 0.01, "betas": [0.8, 0.99], "bias_correction": False})


def gradients(n=8, dim=5, seed=0):
    """Fixed gradients whose coordinates differ in scale by up to 1e4."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.logspace(-2, 2, dim, dtype=torch.float64)
    return [torch.randn(dim, generator=g, dtype=torch.float64) * scale for _ in range(n)]


@pytest.mark.parametrize(("name", "options", "hyper"), [*CASES, UNCORRECTED],
                         ids=[*(c[0] for c in CASES), "adam-uncorrected"])
def test_torch_step_equals_the_hand_rule(name, options, hyper):
    x0 = torch.linspace(-1, 1, 5, dtype=torch.float64)
    p = torch.nn.Parameter(x0.clone())
    opt = build_optimizer(name, [p], **options)
    x, state = x0.clone(), {}
    for g in gradients():
        p.grad = g.clone()
        opt.step()
        x, state = rules.RULES[name](x, g, state, **hyper)
        torch.testing.assert_close(p.detach(), x, atol=1e-6, rtol=0)
    assert not torch.allclose(x, x0)


def test_every_first_order_optimizer_has_a_hand_rule():
    assert set(rules.RULES) == set(OPTIMIZERS) - {"lbfgs"}


def test_hand_rules_do_not_change_their_inputs():
    x, g = torch.ones(3), torch.full((3,), 2.0)
    _, state = rules.momentum_step(x, g, {}, lr=0.1)
    v = state["v"].clone()
    rules.momentum_step(x, g, state, lr=0.1)
    assert torch.equal(x, torch.ones(3)) and torch.equal(state["v"], v)


def test_nesterov_lookahead_and_torch_coincide_under_the_change_of_variables():
    a = torch.tensor([[3.0, 0.5], [0.5, 0.2]], dtype=torch.float64)

    def grad_fn(x):
        return a @ x

    lr, rho = 0.1, 0.9
    x0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    p = torch.nn.Parameter(x0.clone())
    opt = build_optimizer("nesterov", [p], lr=lr, momentum=rho)
    x, state, differs = x0.clone(), {}, False
    for _ in range(10):
        p.grad = grad_fn(p.detach())
        opt.step()
        x, state = rules.nesterov_lookahead_step(x, grad_fn, state, lr=lr, momentum=rho)
        torch.testing.assert_close(p.detach(), x + rho * state["v"], atol=1e-9, rtol=0)
        differs |= not torch.allclose(p.detach(), x)
    assert differs  # the two forms keep different points, related by x~ = x + rho v


def test_adam_first_step_is_lr_per_coordinate_and_too_big_without_bias_correction():
    lr, (b1, b2) = 1e-3, (0.9, 0.999)
    g = torch.tensor([1e-3, -1.0, 1e3], dtype=torch.float64)
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = build_optimizer("adam", [p], lr=lr)
    p.grad = g.clone()
    opt.step()
    torch.testing.assert_close(p.detach(), -lr * g.sign(), rtol=1e-4, atol=0)
    x, _ = rules.adam_step(torch.zeros(3, dtype=torch.float64), g, {}, lr=lr,
                           bias_correction=False)
    ratio = x / p.detach()
    expected = (1 - b1) / math.sqrt(1 - b2)
    assert expected == pytest.approx(3.162, abs=1e-3)
    # eps (1e-8) is 3e-4 of sqrt(v) for the smallest gradient: hence rtol 1e-3
    torch.testing.assert_close(ratio, torch.full((3,), expected, dtype=torch.float64), rtol=1e-3,
                               atol=0)


def test_adam_without_bias_correction_drifts_back_towards_adam():
    """The factor is a start-up effect: after many steps both rules take about the same step."""
    g = torch.ones(2, dtype=torch.float64)
    x1, s1 = torch.zeros(2, dtype=torch.float64), {}
    x2, s2 = x1.clone(), {}
    for t in range(1, 5001):
        new1, s1 = rules.adam_step(x1, g, s1, lr=1e-3)
        new2, s2 = rules.adam_step(x2, g, s2, lr=1e-3, bias_correction=False)
        if t == 1:
            first = float((new2 - x2)[0] / (new1 - x1)[0])
        step_ratio = float((new2 - x2)[0] / (new1 - x1)[0])
        x1, x2 = new1, new2
    assert first > 3 and step_ratio == pytest.approx(1.0, abs=0.01)


def test_adam_without_bias_correction_adds_weight_decay_to_the_gradient_as_torch_adam():
    x0 = torch.linspace(-1, 1, 5, dtype=torch.float64)
    p = torch.nn.Parameter(x0.clone())
    opt = build_optimizer("adam", [p], lr=0.01, weight_decay=0.1, bias_correction=False)
    x, state = x0.clone(), {}
    for g in gradients(n=4):
        p.grad = g.clone()
        opt.step()
        x, state = rules.adam_step(x, g + 0.1 * x, state, lr=0.01, bias_correction=False)
    torch.testing.assert_close(p.detach(), x, atol=1e-9, rtol=0)


def test_uncorrected_adam_keeps_its_state_through_a_state_dict():
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = build_optimizer("adam", [p], lr=0.1, bias_correction=False)
    p.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    q = torch.nn.Parameter(p.detach().clone())
    again = build_optimizer("adam", [q], lr=0.1, bias_correction=False)
    again.load_state_dict(copy.deepcopy(opt.state_dict()))
    for o, param in ((opt, p), (again, q)):
        param.grad = torch.ones(3, dtype=torch.float64)
        o.step()
    torch.testing.assert_close(q.detach(), p.detach(), atol=0, rtol=0)
    assert again.state[q]["step"] == 2


def test_lbfgs_solves_a_quadratic_with_its_closure():
    a = torch.tensor([[10.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = build_optimizer("lbfgs", [p])
    assert needs_closure(opt) and not needs_closure(build_optimizer("adam", [p]))

    def closure():
        opt.zero_grad()
        loss = 0.5 * p @ a @ p - b @ p
        loss.backward()
        return loss

    opt.step(closure)
    torch.testing.assert_close(p.detach(), torch.linalg.solve(a, b), atol=1e-6, rtol=0)


def test_lbfgs_options_are_checked_and_mapped_to_torch():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert build_optimizer("lbfgs", p, line_search_fn="none").defaults["line_search_fn"] is None
    assert build_optimizer("lbfgs", p).defaults["line_search_fn"] == "strong_wolfe"
    with pytest.raises(ConfigError, match="optim.line_search_fn"):
        build_optimizer("lbfgs", p, line_search_fn="wolfe")
    with pytest.raises(ConfigError, match="optim.history_size"):
        build_optimizer("lbfgs", p, history_size=0)
