"""The calls for a loop of your own: tw.diagnose, tw.init_, tw.lsuv_, tw.GradientFlowRecorder,
and the pictures they draw, checked against torch's own numbers."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import trainwell as tw
from trainwell.diagnose import Diagnosis


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 4))


def _shown_as_png(obj: object) -> bool:
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data.get("image/png", b"")[:4] == b"\x89PNG"


def test_the_own_loop_names_are_functions_and_a_class_and_the_package_is_still_reachable():
    package = importlib.import_module("trainwell.diagnose")
    assert inspect.isfunction(tw.diagnose) and tw.diagnose is package.diagnose
    assert inspect.isfunction(tw.init_) and inspect.isfunction(tw.lsuv_)
    assert tw.GradientFlowRecorder is package.GradientFlowRecorder
    assert {"diagnose", "init_", "lsuv_", "GradientFlowRecorder"} <= set(tw.__all__)


def test_diagnose_names_zero_init_symmetry_and_shows_a_figure_html_and_text():
    net = _net()
    for p in net.parameters():
        nn.init.zeros_(p)
    x, y = torch.randn(64, 12), torch.randint(0, 4, (64,))
    d = tw.diagnose(net, x, y)
    assert isinstance(d, Diagnosis) and not d.healthy
    assert d.verdicts[0].kind == "symmetric"
    assert len(d.layers) == 3 and d.loss == pytest.approx(math.log(4), rel=1e-5)
    fig = d.figure()
    assert _shown_as_png(fig) and len(fig.axes) == 4  # three histograms and the gradient norms
    html = d._repr_html_()
    assert d.verdicts[0].message.split(" ")[0] in html and html.count("<tr>") == 1 + 3
    assert "data:image/png;base64," in html and "<style" not in html
    text = d.text()
    assert text.splitlines()[0].strip() == f"diagnosis on 64 samples, loss {d.loss:.4g}"
    assert " ".join(d.verdicts[0].message.split()[:4]) in " ".join(text.split())
    assert "\x1b" not in text


def test_diagnosis_page_is_written(tmp_path):
    d = tw.diagnose(_net(), torch.randn(64, 12), torch.randint(0, 4, (64,)))
    page = d.write_html(tmp_path / "d.html", title="<mine>")
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "&lt;mine&gt;" in html and "<mine>" not in html


def test_init_applies_the_scheme_in_place_and_returns_the_model():
    net = _net()
    g = torch.Generator().manual_seed(1)
    big = nn.Sequential(nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
    assert tw.init_(big, "he_normal", generator=g) is big
    assert big[0].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert big[0].bias.abs().sum().item() == 0.0
    assert tw.init_(net, "constant", value=0.5, bias=0.1) is net
    assert bool((net[2].weight == 0.5).all()) and bool((net[2].bias == 0.1).all())


@pytest.mark.parametrize(("scheme", "options", "key", "says"), [
    ("he_nomral", {}, "scheme", "did you mean 'he_normal'"),
    ("lsuv", {}, "scheme", "trainwell.lsuv_(model, batch)"),
    ("he_normal", {"mod": "fan_in"}, "init.mod", "mode"),
])
def test_init_rejects_an_unknown_scheme_or_option_in_one_line(scheme, options, key, says):
    with pytest.raises(tw.ConfigError) as err:
        tw.init_(_net(), scheme, **options)
    assert err.value.key == key and says in str(err.value) and "\n" not in str(err.value)


def test_init_refuses_what_is_not_a_module():
    with pytest.raises(tw.ConfigError, match="model = 'Tensor'"):
        tw.init_(torch.zeros(3, 3), "he_normal")


def test_lsuv_gives_every_layer_unit_std_and_takes_a_loader_pair():
    net = _net()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 12, generator=g), torch.randint(0, 4, (256,), generator=g)
    assert tw.lsuv_(net, (x, y), generator=g) is net
    outs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append(o.std().item()))
             for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    assert len(outs) == 3 and all(abs(s - 1.0) <= 0.1 for s in outs)


def test_lsuv_warns_when_a_layer_stays_outside_the_tolerance():
    net = _net()
    with torch.no_grad():
        net[2].bias.fill_(3.0)
    with pytest.warns(UserWarning, match="outside std 1 ± 0.001"):
        tw.lsuv_(net, torch.randn(64, 12), orthonormal=False, tol=0.001, max_iter=1)


def _train(model, opt, rec=None, *, steps=7, record=True, evaluate=False):
    """A plain loop; returns the weight-gradient norms and activation stds torch saw per step."""
    seen = []
    acts: dict[str, float] = {}

    def keep(name):
        def hook(module, inputs, output):
            if torch.is_grad_enabled():
                acts[name] = output.std().item()
        return hook

    hooks = [model[i].register_forward_hook(keep(name)) for i, name in ((1, "0"), (3, "2"), (4, "4"))]
    g = torch.Generator().manual_seed(3)
    for step in range(steps):
        x, y = torch.randn(32, 12, generator=g), torch.randint(0, 4, (32,), generator=g)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        seen.append(({n: model[int(n)].weight.grad.norm().item() for n in ("0", "2", "4")}, dict(acts)))
        if rec is not None and record:
            rec.record(step)
        opt.step()
        if evaluate:
            with torch.no_grad():
                model(torch.randn(500, 12) * 10)
    for h in hooks:
        h.remove()
    return seen


def test_the_recorder_in_a_plain_loop_matches_torch_every_few_steps():
    model = _net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = tw.GradientFlowRecorder(model, every=3)
    seen = _train(model, opt, rec, evaluate=True)
    rows = rec.records
    assert sorted({r["step"] for r in rows}) == [0, 3, 6] and rec.layers == ["0", "2", "4"]
    for r in rows:
        grads, acts = seen[r["step"]]
        assert r["grad_norm"] == pytest.approx(grads[r["layer"]], rel=1e-5)
        assert r["act_std"] == pytest.approx(acts[r["layer"]], rel=1e-5)
    rec.close()
    assert all(not m._forward_hooks for m in model.modules())


def test_the_recorder_on_the_optimizer_records_without_calls():
    model = _net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with_hook = tw.GradientFlowRecorder(model, every=2, optimizer=opt)
    seen = _train(model, opt, record=False, steps=5)
    rows = with_hook.records
    assert sorted({r["step"] for r in rows}) == [0, 2, 4]
    assert all(r["grad_norm"] == pytest.approx(seen[r["step"]][0][r["layer"]], rel=1e-5) for r in rows)
    with_hook.close()
    _train(model, opt, record=False, steps=3)
    assert len(with_hook.records) == len(rows)


def test_the_recorder_table_and_figure():
    pytest.importorskip("pandas")
    model = _net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = tw.GradientFlowRecorder(model, every=2)
    with pytest.raises(tw.TrainwellError, match="no gradient flow recorded yet"):
        rec.figure()
    _train(model, opt, rec, steps=6)
    frame = rec.table()
    assert list(frame.columns) == ["step", "layer", "grad_norm", "act_std"] and len(frame) == 9
    assert frame.pivot(index="step", columns="layer", values="grad_norm").shape == (3, 3)
    fig = rec.figure()
    assert _shown_as_png(fig) and len(fig.axes) == 2
    rec.close()


@pytest.mark.parametrize(("kwargs", "key"), [({"every": 0}, "diagnose.every"),
                                             ({"model": "net"}, "model"),
                                             ({"optimizer": "sgd"}, "optimizer")])
def test_the_recorder_rejects_bad_arguments(kwargs, key):
    kwargs = {"model": _net(), **kwargs} if "model" not in kwargs else kwargs
    with pytest.raises(tw.ConfigError) as err:
        tw.GradientFlowRecorder(**kwargs)
    assert err.value.key == key


def test_a_recorder_without_a_model_says_how_to_make_one():
    with pytest.raises(tw.TrainwellError, match=r"GradientFlowRecorder\(model\)"):
        tw.GradientFlowRecorder(every=1).record(0)


@pytest.mark.parametrize(("torch_name", "ours"), [
    ("xavier_normal", "glorot_normal"), ("xavier_uniform", "glorot_uniform"),
    ("kaiming_normal", "he_normal"), ("kaiming_uniform", "he_uniform")])
def test_init_takes_torch_nn_init_names_for_the_same_schemes(torch_name, ours):
    a = nn.Sequential(nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 10))
    b = nn.Sequential(nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 10))
    tw.init_(a, torch_name, generator=torch.Generator().manual_seed(3))
    tw.init_(b, ours, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[2].weight, b[2].weight)
