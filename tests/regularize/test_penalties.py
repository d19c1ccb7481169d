"""L1/L2 penalties: analytic gradients, which parameters count, and weight decay in SGD/Adam/AdamW."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.errors import ConfigError
from trainwell.loop import fit
from trainwell.regularize import Penalty, penalized_parameters, penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Conv1d(1, 2, 3),
                         nn.Flatten(), nn.LayerNorm(8), nn.Linear(8, 3))


def _grads(net, **kw):
    net.zero_grad(set_to_none=True)
    penalty(net, **kw).backward()
    return {name: p.grad for name, p in net.named_parameters()}


WEIGHTS = ("0.weight", "3.weight", "6.weight")


@pytest.mark.parametrize("l1, l2", [(0.0, 0.3), (0.2, 0.0), (0.2, 0.3)])
def test_the_penalty_gradient_is_the_analytic_one(l1, l2):
    net = _net()
    grads = _grads(net, l1=l1, l2=l2)
    params = dict(net.named_parameters())
    for name in WEIGHTS:
        w = params[name].detach()
        assert torch.allclose(grads[name], 2 * l2 * w + l1 * torch.sign(w), atol=1e-7), name
    value = penalty(net, l1=l1, l2=l2).item()
    ws = [params[n].detach() for n in WEIGHTS]
    assert value == pytest.approx(sum(l1 * w.abs().sum().item() + l2 * w.pow(2).sum().item()
                                      for w in ws), rel=1e-6)


def test_biases_and_normalization_parameters_get_no_penalty_gradient_by_default():
    net = _net()
    grads = _grads(net, l1=0.1, l2=0.1)
    zero = [n for n in grads if n not in WEIGHTS]
    assert zero == ["0.bias", "1.weight", "1.bias", "3.bias", "5.weight", "5.bias", "6.bias"]
    assert all(grads[n] is None or not grads[n].any() for n in zero)
    assert all(grads[n].abs().sum() > 0 for n in WEIGHTS)


def test_include_bias_adds_biases_but_never_normalization_parameters():
    net = _net()
    grads = _grads(net, l2=0.5, include_bias=True)
    params = dict(net.named_parameters())
    for name in ("0.bias", "3.bias", "6.bias"):
        assert torch.allclose(grads[name], params[name].detach(), atol=1e-7)  # 2 · 0.5 · b
    for name in ("1.weight", "1.bias", "5.weight", "5.bias"):
        assert grads[name] is None


def test_a_shared_weight_is_penalized_once():
    a = nn.Linear(3, 3)
    net = nn.Sequential(a, a)
    assert len(penalized_parameters(net)) == 1
    assert penalty(net, l2=1.0).item() == pytest.approx(a.weight.pow(2).sum().item())


def _data(n=32, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)
    meta = DatasetMeta(name="toy", input_shape=(d,), num_classes=k, source="test")
    return Dataset(x, y, x[:0], y[:0], x[:0], y[:0], meta=meta)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _groups(model, decay):
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}]


def test_l2_in_the_loss_equals_sgd_weight_decay_two_lambda():
    ds, lam = _data(), 0.05
    a, b = _mlp(), _mlp()
    fit(a, ds, torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9), epochs=5, batch_size=8,
        callbacks=[Penalty(l2=lam)], generator=torch.Generator().manual_seed(1))
    fit(b, ds, torch.optim.SGD(_groups(b, 2 * lam), lr=0.1, momentum=0.9), epochs=5, batch_size=8,
        generator=torch.Generator().manual_seed(1))
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6), name
    free = _mlp()
    fit(free, ds, torch.optim.SGD(free.parameters(), lr=0.1, momentum=0.9), epochs=5, batch_size=8,
        generator=torch.Generator().manual_seed(1))
    assert (free[0].weight - a[0].weight).abs().max() > 1e-3  # the penalty did something


def test_under_adam_l2_in_the_loss_is_not_adamw_weight_decay():
    ds, lam = _data(), 0.05
    a, b = _mlp(), _mlp()
    fit(a, ds, torch.optim.Adam(a.parameters(), lr=0.01), epochs=5, batch_size=8,
        callbacks=[Penalty(l2=lam)], generator=torch.Generator().manual_seed(1))
    fit(b, ds, torch.optim.AdamW(_groups(b, 2 * lam), lr=0.01), epochs=5, batch_size=8,
        generator=torch.Generator().manual_seed(1))
    assert (a[0].weight - b[0].weight).abs().max() > 1e-3
    # Adam with weight_decay adds λ·w to the gradient: that is L2 in the loss again.
    c = _mlp()
    fit(c, ds, torch.optim.Adam(_groups(c, 2 * lam), lr=0.01), epochs=5, batch_size=8,
        generator=torch.Generator().manual_seed(1))
    assert torch.allclose(a[0].weight, c[0].weight, atol=1e-5)


def test_one_adamw_step_is_the_decoupled_closed_form():
    torch.manual_seed(0)
    w0, x = torch.randn(4, 3), torch.randn(6, 3)
    lr, lam, (b1, b2), eps = 0.01, 0.1, (0.9, 0.999), 1e-8
    w = w0.clone().requires_grad_()
    opt = torch.optim.AdamW([w], lr=lr, betas=(b1, b2), eps=eps, weight_decay=lam)
    (x @ w.T).tanh().pow(2).sum().backward()
    g = w.grad.clone()
    opt.step()
    m_hat = (1 - b1) * g / (1 - b1)
    v_hat = (1 - b2) * g * g / (1 - b2)
    expected = w0 - lr * (m_hat / (v_hat.sqrt() + eps) + lam * w0)
    assert torch.allclose(w.detach(), expected, atol=1e-7)
    coupled = w0 - lr * (g + lam * w0) / ((g + lam * w0).abs() + eps)  # Adam with L2 in the grad
    assert (coupled - expected).abs().max() > 1e-4


def test_the_callback_adds_the_penalty_to_the_loss_not_to_the_recorded_loss():
    ds, lam = _data(), 0.3
    model = _mlp()

    class Spy:
        order = 10

        def __init__(self):
            self.seen = []

        def after_loss(self, state):
            self.seen.append((state.loss - state.data_loss).item())

    spy = Spy()
    h = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.0), epochs=1, batch_size=32,
            callbacks=[Penalty(l1=lam, l2=lam), spy])
    expected = penalty(model, l1=lam, l2=lam).item()
    assert spy.seen == [pytest.approx(expected, rel=1e-5)]
    assert h.step_loss[0] == pytest.approx(F.cross_entropy(model(ds.x_train), ds.y_train).item(),
                                           rel=1e-5)


def test_the_callback_collects_its_parameters_once_per_fit():
    model, cb = _mlp(), Penalty(l2=1.0)

    class State:
        pass

    state = State()
    state.model = model
    cb.before_fit(state)
    model.append(nn.Linear(3, 3))  # added after before_fit: not penalized
    state.loss = state.data_loss = torch.zeros(())
    cb.after_loss(state)
    assert state.loss.item() == pytest.approx(penalty(model[:3], l2=1.0).item())


@pytest.mark.parametrize("kw, key", [({"l2": -1.0}, "regularize.l2"), ({"l1": float("nan")}, "regularize.l1"),
                                     ({"l2": "big"}, "regularize.l2")])
def test_bad_strengths_raise_a_config_error(kw, key):
    with pytest.raises(ConfigError, match=key) as err:
        penalty(_mlp(), **kw)
    assert "a finite number >= 0" in str(err.value)
    with pytest.raises(ConfigError, match=key):
        Penalty(**kw)
