"""The loop's extension points: batch replacement, loss terms, per-group schedules, cleanup."""

import math

import pytest
import torch
import torch.nn.functional as F

from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.loop import Callback, evaluate, fit
from trainwell.optim.schedules import LRSchedule


def _one_layer_data(n=8, d=3, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    meta = DatasetMeta(name="toy", input_shape=(d,), num_classes=k, source="test")
    return Dataset(x, y, x[:0], y[:0], x[:2], y[:2], meta=meta)


def _model(d=3, k=2):
    torch.manual_seed(0)
    return torch.nn.Linear(d, k)


class Capture(Callback):
    """Keeps the gradient the optimizer is about to apply."""

    def after_backward(self, state):
        self.grad = state.model.weight.grad.clone()


def test_a_callback_that_doubles_the_batch_is_what_the_optimizer_sees():
    ds = _one_layer_data()

    class Double(Callback):
        def before_step(self, state):
            state.xb, state.yb = torch.cat([state.xb, state.xb * 2]), torch.cat([state.yb, state.yb])

    model, cap = _model(), Capture()
    ref = _model()
    fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=8,
        callbacks=[Double(), cap], generator=torch.Generator().manual_seed(0))
    x2, y2 = torch.cat([ds.x_train, ds.x_train * 2]), torch.cat([ds.y_train, ds.y_train])
    F.cross_entropy(ref(x2), y2).backward()
    assert torch.allclose(cap.grad, ref.weight.grad, atol=1e-6)
    plain = _model()
    F.cross_entropy(plain(ds.x_train), ds.y_train).backward()
    assert not torch.allclose(cap.grad, plain.weight.grad, atol=1e-4)


def test_an_after_loss_penalty_reaches_the_gradient_but_not_the_recorded_loss():
    ds, lam = _one_layer_data(), 0.7

    class L2(Callback):
        def after_loss(self, state):
            state.loss = state.loss + lam * state.model.weight.pow(2).sum()

    model, cap = _model(), Capture()
    h = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.0), epochs=1, batch_size=8,
            callbacks=[L2(), cap], generator=torch.Generator().manual_seed(0))
    ref = _model()
    data_loss = F.cross_entropy(ref(ds.x_train), ds.y_train)
    data_loss.backward()
    expected = ref.weight.grad + 2 * lam * ref.weight.detach()
    assert torch.allclose(cap.grad, expected, atol=1e-6)
    assert h.step_loss[0] == pytest.approx(data_loss.item(), abs=1e-6)


def test_the_penalty_is_part_of_every_lbfgs_evaluation():
    ds = _one_layer_data()

    class L2(Callback):
        def after_loss(self, state):
            state.loss = state.loss + 10.0 * state.model.weight.pow(2).sum()

    model = _model()
    fit(model, ds, torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=50), epochs=3,
        batch_size=8, callbacks=[L2()])
    free = _model()
    fit(free, ds, torch.optim.LBFGS(free.parameters(), lr=1.0, max_iter=50), epochs=3, batch_size=8)
    assert model.weight.norm() < 0.5 * free.weight.norm()


def test_param_groups_follow_the_schedule_each_from_its_own_base():
    ds = _one_layer_data(n=32)
    model = _model()
    opt = torch.optim.SGD([{"params": [model.weight], "lr": 0.1},
                           {"params": [model.bias], "lr": 0.01}], lr=0.1)

    class Watch(Callback):
        order = 10
        seen: list = []

        def before_step(self, state):
            self.seen.append([g["lr"] for g in state.optimizer.param_groups])

    watch = Watch()
    fit(model, ds, opt, epochs=3, batch_size=32,
        callbacks=[LRSchedule("step", step_size=1, gamma=0.5), watch])
    assert watch.seen == [pytest.approx([0.1, 0.01]), pytest.approx([0.05, 0.005]),
                          pytest.approx([0.025, 0.0025])]


def test_after_fit_runs_when_training_raises_and_evaluate_restores_the_mode():
    ds = _one_layer_data()

    class Hooked(Callback):
        def before_fit(self, state):
            self.handle = state.model.register_forward_hook(lambda *a: None)

        def after_step(self, state):
            raise RuntimeError("boom")

        def after_fit(self, state):
            self.handle.remove()
            self.closed = True

    model, cb = _model(), Hooked()
    with pytest.raises(RuntimeError, match="boom"):
        fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=4,
            callbacks=[cb])
    assert cb.closed and not model._forward_hooks

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise ValueError("bad forward")

    net = Broken().train()
    with pytest.raises(ValueError):
        evaluate(net, ds.x_train, ds.y_train)
    assert net.training


def test_final_metrics_are_of_the_model_after_fit_leaves_it():
    ds = _one_layer_data(n=32)

    class Reset(Callback):
        def after_fit(self, state):
            with torch.no_grad():
                state.model.weight.zero_()
                state.model.bias.zero_()

    model = _model()
    h = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.5), epochs=3, batch_size=8,
            callbacks=[Reset()])
    assert h.final["train_loss"] == pytest.approx(math.log(2), abs=1e-6)
