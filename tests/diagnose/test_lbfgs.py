"""The probe steps an L-BFGS optimizer with a closure, as training does, and undoes the step."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from torch import nn

from trainwell.cli import main
from trainwell.diagnose import probe
from trainwell.optim import build_optimizer


class WithUnused(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body, self.unused = body, nn.Linear(2, 2)

    def forward(self, x):
        return self.body(x)


def test_probe_steps_lbfgs_with_a_closure_and_restores_everything(digits):
    x, y = digits
    torch.manual_seed(0)
    net = WithUnused(nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)))
    frozen = net.unused  # a parameter outside the optimizer keeps its .grad
    frozen.weight.grad = torch.ones(2, 2)
    opt = build_optimizer("lbfgs", [p for n, p in net.named_parameters() if "unused" not in n])
    before = copy.deepcopy(net.state_dict())
    d = probe(net, x, targets=y, optimizer=opt)
    ratios = [s.update_ratio for s in d.layers]
    assert all(r is not None and math.isfinite(r) and r > 0 for r in ratios)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for n, p in net.named_parameters() if "unused" not in n)
    assert torch.equal(frozen.weight.grad, torch.ones(2, 2))
    assert not opt.state, "the optimizer's state is as it was: empty"


def test_probe_lbfgs_step_is_the_step_training_takes(digits):
    x, y = digits
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    trained = copy.deepcopy(net)
    ratio = probe(net, x, targets=y, optimizer=build_optimizer("lbfgs", net.parameters())
                  ).layers[0].update_ratio
    opt = build_optimizer("lbfgs", trained.parameters())

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(trained(x), y)
        loss.backward()
        return loss

    opt.step(closure)
    w0, w1 = net[1].weight.detach(), trained[1].weight.detach()
    expected = torch.linalg.vector_norm(w1 - w0) / torch.linalg.vector_norm(w0)
    assert ratio == pytest.approx(float(expected), rel=1e-5)


def test_diagnose_command_with_lbfgs_prints_verdicts(tmp_path, capsys):
    out = tmp_path / "diag"
    argv = ["diagnose", "--set", "data.name=digits", "--set", "model.depth=2",
            "--set", "model.width=16", "--set", "train.threads=1", "--set", "optim.name=lbfgs",
            "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "diagnosis on" in printed
    saved = json.loads((out / "diagnosis.json").read_text())
    assert saved["verdicts"]
    assert all(v["message"].split(":")[0] in printed for v in saved["verdicts"])
    assert all(layer["update_ratio"] > 0 for layer in saved["layers"])
