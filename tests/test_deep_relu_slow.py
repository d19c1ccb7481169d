"""He et al. 2015's depth-30 claim in small (slow: run with ``make test-slow``): a plain
30-layer ReLU network trains from He's initialization and stays at chance from Xavier's."""

import pytest

from trainwell.results import open_results
from trainwell.run import run_sweep
from trainwell.sweep import Sweep

pytestmark = pytest.mark.slow


def test_30_layer_relu_net_trains_with_he_and_stalls_with_xavier(tmp_path):
    sweep = Sweep.from_dict({
        "data": {"name": "mnist5k"},
        "init": {"name": ["glorot_normal", "he_normal"]},
        "model": {"name": "mlp", "depth": 30, "width": 64, "activation": "relu"},
        "optim": {"name": "momentum", "lr": 0.005, "momentum": 0.9},
        "train": {"epochs": 10, "batch_size": 64},
        "sweep": {"seeds": 2}}, experiment="deep_relu_small")
    outcome = run_sweep(sweep, root=tmp_path, quiet=True)
    assert outcome.statuses.get("failed", 0) == 0
    with open_results(outcome.folder) as res:
        def train_accs(init):
            rows = res.runs(where={"init.name": init})
            assert len(rows) == 2
            return [r.get("train_acc") or 0.0 for r in rows]

        he, xavier = train_accs("he_normal"), train_accs("glorot_normal")
    assert min(he) > 0.25, he  # chance is 0.10
    assert max(xavier) < 0.13, xavier
