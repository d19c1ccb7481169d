"""The main job's claim on a small grid (slow: run with ``make test-slow``)."""

import pytest

from trainwell.results import open_results
from trainwell.run import run_sweep
from trainwell.sweep import Sweep

pytestmark = pytest.mark.slow


def test_zeros_stays_at_chance_and_relu_he_beats_sigmoid_uniform(tmp_path):
    sweep = Sweep.from_dict({
        "data": {"name": "mnist1d", "num_samples": 4000},
        "init": [{"name": "zeros"}, {"name": "uniform", "a": -1.0, "b": 1.0},
                 {"name": "he_normal"}],
        "model": {"name": "mlp", "depth": 6, "width": 64, "activation": ["sigmoid", "relu"]},
        "optim": {"name": "momentum", "lr": 0.01},
        "train": {"epochs": 20},
        "sweep": {"seeds": 3}}, experiment="small")
    outcome = run_sweep(sweep, root=tmp_path, quiet=True)
    assert outcome.statuses.get("failed", 0) == 0
    with open_results(outcome.folder) as res:
        def accs(init, act):
            rows = res.runs(where={"init.name": init, "model.activation": act})
            assert len(rows) == 3
            return [r.get("test_acc") for r in rows]

        for act in ("sigmoid", "relu"):
            assert all(a is not None and a < 0.15 for a in accs("zeros", act))
        he = accs("he_normal", "relu")
        sig = [a if a is not None else 0.0 for a in accs("uniform", "sigmoid")]
        assert min(he) > max(sig)
