"""tw.watch in a plain PyTorch loop: user models, convolutions, residual and attention blocks,
an activation it does not know; the Monitor as a callback of fit with stop_on."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell as tw
from trainwell.diagnose import Monitor, watch
from trainwell.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=512, d=16, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    return x, (x @ w).argmax(1)


def _train(model, x, y, *, lr, steps=200, every=20, opt=None, give_opt=True, batch=64, **kw):
    opt = opt or torch.optim.SGD(model.parameters(), lr=lr)
    mon = watch(model, optimizer=opt if give_opt else None, every=every, **kw)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        out = model(x[idx])
        loss = F.cross_entropy(out, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss, output=out, target=y[idx])
    return mon


def _mlp(depth, act, width=32, d=16, classes=4):
    layers, size = [], d
    for _ in range(depth):
        layers += [nn.Linear(size, width), act()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, classes))


def test_a_healthy_user_model_gets_no_verdict():
    torch.manual_seed(0)
    x, y = _data()
    mon = _train(_mlp(2, nn.ReLU), x, y, lr=0.1)
    assert mon.verdicts == []
    assert mon.step_count == 200
    assert len(mon.monitor.windows) == 10


def test_a_deep_sigmoid_mlp_is_found_vanishing_and_the_layer_named():
    torch.manual_seed(0)
    x, y = _data()
    model = _mlp(10, nn.Sigmoid)
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
    mon = _train(model, x, y, lr=0.01)
    kinds = [v.kind for v in mon.verdicts]
    assert "vanishing" in kinds
    v = next(v for v in mon.verdicts if v.kind == "vanishing")
    assert v.layer == "0" and v.numbers["ratio"] < 1e-3 and v.step == 20
    assert "relu" in v.fix


def test_dying_relu_is_named_where_units_can_die():
    torch.manual_seed(0)
    x, y = _data()
    model = _mlp(3, nn.ReLU)
    nn.init.constant_(model[2].bias, -20.0)
    mon = _train(model, x, y, lr=0.05, steps=60)
    dying = [v for v in mon.verdicts if v.kind == "dying_relu"]
    assert dying and dying[0].layer == "2" and dying[0].numbers["dead"] == 1.0
    # leaky_relu units cannot die: the same biases give no dying verdict
    leaky = _mlp(3, nn.LeakyReLU)
    nn.init.constant_(leaky[2].bias, -20.0)
    assert "dying_relu" not in [v.kind for v in _train(leaky, x, y, lr=0.05, steps=60).verdicts]


def test_nan_is_found_and_stop_on_says_stop():
    torch.manual_seed(0)
    x, y = _data()
    model = _mlp(2, nn.ReLU)
    mon = watch(model, optimizer=None, every=5, stop_on=["nan"])
    loss = F.cross_entropy(model(x), y) * float("nan")
    loss.backward()
    mon.step(loss)
    assert [v.kind for v in mon.verdicts] == ["nan"]
    assert mon.should_stop


def test_a_too_small_learning_rate_is_read_from_the_update_ratio_without_the_optimizer():
    torch.manual_seed(0)
    x, y = _data()
    mon = _train(_mlp(2, nn.ReLU), x, y, lr=1e-9, steps=60, give_opt=False)
    low = [v for v in mon.verdicts if v.kind == "lr_low"]
    assert low and low[0].numbers["update_ratio"] < 1e-6


class _ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(1, 8, 3, padding=1), nn.BatchNorm1d(8), nn.ReLU())
        self.res1 = nn.Conv1d(8, 8, 3, padding=1)
        self.res2 = nn.Conv1d(8, 8, 3, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        h = self.conv(x.unsqueeze(1))
        h = F.relu(h + self.res2(F.relu(self.res1(h))))  # a residual block
        seq = h.transpose(1, 2)
        a, _ = self.attn(seq, seq, seq)  # an attention block
        return self.head((seq + a).mean(1))


def test_a_conv_net_with_a_residual_and_an_attention_block(tmp_path):
    torch.manual_seed(0)
    x, y = _data()
    model = _ConvNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    mon = _train(model, x, y, lr=None, opt=opt, steps=60, every=20)
    names = [layer.name for layer in mon.monitor._layers]
    assert names == ["conv.0", "res1", "res2", "attn.out_proj", "head"]
    last = mon.monitor.windows[-1].layers
    assert last[0].dead is not None  # relu after the conv: dead units are counted
    assert last[3].grad is not None and last[3].act_std is None  # attention's projection: used
    # as a weight, never called as a module, so its gradient is read but no activation
    assert any("res1" in n and "not judged" in n for n in mon.notes)
    assert mon.verdicts == []
    page = mon.report(tmp_path / "watch.html")
    assert "Verdicts over time" in page.read_text() and "res1" in page.read_text()


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def test_an_unknown_activation_is_said_not_guessed():
    model = nn.Sequential(nn.Linear(16, 32), Swish(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    mon = watch(model, every=10)
    assert mon.notes == ["layer 0 is followed by Swish, an activation trainwell does not know: "
                         "its dead and saturated units are not judged"]
    x, y = _data()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    mon.step(loss)
    first = mon.monitor.windows[0].layers
    assert first[0].activation == "none" and first[0].dead is None and first[0].saturated is None
    assert first[1].activation == "relu" and first[1].dead is not None
    assert "Swish" in str(mon.table().caption)


def test_the_monitor_hooks_only_measured_steps():
    model = _mlp(2, nn.ReLU)
    mon = watch(model, every=10)
    relu = model[1]
    assert len(relu._forward_hooks) == 1  # armed for step 0
    x, y = _data()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    mon.step(loss)
    assert len(relu._forward_hooks) == 0
    mon.close()


def test_tw_watch_is_the_public_name_and_bad_input_is_said():
    assert tw.watch is watch
    with pytest.raises(ConfigError, match="every"):
        watch(nn.Linear(2, 2), every=0)
    with pytest.raises(ConfigError, match="stop_on = 'explode'.*did you mean 'exploding'"):
        watch(nn.Linear(2, 2), stop_on=["explode"])
    with pytest.raises(ConfigError, match="torch.nn.Module"):
        watch("model")


def test_monitor_in_fit_stop_on_ends_the_run_as_diverged():
    from trainwell.data import load_dataset
    from trainwell.loop import fit

    ds = load_dataset("digits")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), _mlp(2, nn.ReLU, d=64, classes=10))
    mon = Monitor(every=5, stop_on=["lr_low"])
    history = fit(model, ds, torch.optim.SGD(model.parameters(), lr=1e-9), epochs=3, batch_size=64,
                  callbacks=[mon])
    assert history.status == "diverged"
    assert "lr_low" in history.stop_reason and history.epochs == []
    assert history.watch["verdicts"][0]["kind"] == "lr_low"


def test_stop_on_and_clip_norm_in_a_recipe():
    from trainwell.execute import execute
    from trainwell.recipe import Recipe

    with pytest.raises(ConfigError, match="train.stop_on = 'explode'"):
        Recipe.from_dict({"train": {"stop_on": ["explode"]}})
    assert "stop_on" not in Recipe.from_dict({}).to_dict()["train"]  # run ids stay as they were
    assert "clip_norm" not in Recipe.from_dict({}).to_dict()["train"]
    out = execute(Recipe.from_dict({"data": {"name": "digits"}, "optim": {"name": "sgd", "lr": 1e-9},
                                    "train": {"epochs": 3, "record_every": 5, "stop_on": ["lr_low"],
                                              "clip_norm": 1.0}}))
    assert out.status == "diverged" and "lr_low" in out.history.stop_reason
    rows = out.history.metric_rows()
    assert (0, "verdict/lr_low", 1.0) in rows  # the store's and the exports' rows
