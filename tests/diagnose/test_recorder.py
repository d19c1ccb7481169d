"""GradientFlowRecorder: the same numbers as a probe, hooks only on recording steps."""

from __future__ import annotations

import json

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.diagnose import GradientFlowRecorder, find_layers, probe
from trainwell.errors import ConfigError
from trainwell.loop import Callback, fit
from trainwell.models import build_model

EVERY = 5


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


class ProbeAt(Callback):
    """Probes the model on the step's own minibatch, before the step runs."""

    order = -10

    def __init__(self, every):
        self.every, self.found = every, {}

    def before_step(self, state):
        if state.step % self.every == 0:
            self.found[state.step] = probe(state.model, state.xb, targets=state.yb)


class HookCount(Callback):
    """Counts forward hooks on the layers' activation modules around each step."""

    order = 100

    def before_fit(self, state):
        self.modules = [layer.output for layer in find_layers(state.model)]
        self.during, self.after = {}, {}

    def before_step(self, state):
        self.during[state.step] = sum(len(m._forward_hooks) for m in self.modules)

    def after_step(self, state):
        self.after[state.step] = sum(len(m._forward_hooks) for m in self.modules)


def train(dataset, callbacks, *, model="mlp", epochs=2):
    torch.manual_seed(0)
    options = ({"depth": 3, "width": 32, "batch_norm": True, "dropout": 0.2} if model == "mlp"
               else {"channels": [4, 8], "kernel_size": 3, "activation": "maxout"})
    net = build_model(model, input_shape=(1, 8, 8), num_classes=10, **options)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    history = fit(net, dataset, opt, epochs=epochs, batch_size=128, eval_every=0,
                  callbacks=callbacks, generator=torch.Generator().manual_seed(0))
    assert history.status == "done"
    return net


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_records_match_a_probe_of_the_same_step(digits, model):
    recorder, probes = GradientFlowRecorder(every=EVERY), ProbeAt(EVERY)
    net = train(digits, [recorder, probes], model=model)
    reference = train(digits, [recorder.__class__(every=EVERY)], model=model)
    for a, b in zip(net.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b), "probing during training changed the training"
    rows = recorder.records
    steps = sorted({r["step"] for r in rows})
    assert steps == sorted(probes.found) == list(range(0, 2 * 11, EVERY))
    assert len(rows) == len(steps) * len(recorder.layers)
    for row in rows:
        stats = {s.name: s for s in probes.found[row["step"]].layers}[row["layer"]]
        assert row["grad_norm"] == pytest.approx(stats.weight_grad_norm, rel=1e-5)
        assert row["act_std"] == pytest.approx(stats.act_std, rel=1e-5)
    assert any(row["grad_norm"] != rows[0]["grad_norm"] for row in rows[1:])


def test_hooks_are_on_only_during_recording_steps(digits):
    counter = HookCount()
    train(digits, [GradientFlowRecorder(every=EVERY), counter], epochs=1)
    layers = 4
    assert counter.during == {s: (layers if s % EVERY == 0 else 0) for s in range(11)}
    assert set(counter.after.values()) == {0}


def test_records_are_json_and_in_layer_order(digits):
    recorder = GradientFlowRecorder(every=4)
    net = train(digits, [recorder], epochs=1)
    data = json.loads(json.dumps(recorder.to_dict(), allow_nan=False))
    assert data["every"] == 4
    assert data["layers"] == [layer.name for layer in find_layers(net)] == \
        ["hidden.0.linear", "hidden.1.linear", "hidden.2.linear", "head"]
    assert [r["layer"] for r in data["records"][:4]] == data["layers"]
    assert [r["step"] for r in data["records"]] == [s for s in (0, 4, 8) for _ in range(4)]
    assert all(r["grad_norm"] > 0 and r["act_std"] > 0 for r in data["records"])
    assert recorder.records == data["records"], "reading records twice gives the same rows"


@pytest.mark.parametrize("every", [0, -3, 2.5, True])
def test_bad_every_is_refused(every):
    with pytest.raises(ConfigError, match="diagnose.every"):
        GradientFlowRecorder(every=every)
