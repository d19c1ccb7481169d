"""A verdict agrees with how the run ended, and never advises what the run already uses."""

import pytest
import torch
from torch import nn

from trainwell.diagnose.outcome import agree_with_outcome, not_trained
from trainwell.diagnose.verdicts import diagnose, judge
from trainwell.execute import execute
from trainwell.recipe import Recipe


@pytest.mark.parametrize("kw, said", [
    ({"status": "diverged"}, "the run diverged"),
    ({"train_acc": 0.12}, "within 5 points of chance"),
    ({"train_acc": 0.2, "last_loss": 2.1}, "fell only from 2.3 to 2.1 (9 %)"),
])
def test_a_run_that_did_not_train_is_named_with_its_evidence(kw, said):
    args = {"status": "done", "train_acc": 0.9, "num_classes": 10, "first_loss": 2.3,
            "last_loss": 0.4, **kw}
    assert said in not_trained(**args)
    assert not_trained(**{**args, **{"status": "done", "train_acc": 0.9, "last_loss": 0.4}}) is None


def test_a_healthy_probe_of_a_run_that_did_not_train_becomes_not_trained():
    (healthy,) = judge([])
    assert healthy.kind == "healthy"
    (v,) = agree_with_outcome([healthy], "the run diverged")
    assert v.kind == "not_trained" and "the run diverged" in v.message and v.fix
    assert agree_with_outcome([healthy], None) == [healthy]


def _deep_sigmoid():
    torch.manual_seed(0)
    layers = []
    for _ in range(8):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(32, 10))


def test_no_fix_advises_the_scheme_or_batch_norm_the_network_already_uses():
    x, y = torch.randn(128, 32), torch.randint(0, 10, (128,))
    plain = diagnose(_deep_sigmoid(), x, y).verdicts
    assert any("lsuv" in v.fix for v in plain) and any("batch_norm" in v.fix for v in plain)
    used = diagnose(_deep_sigmoid(), x, y, used={"lsuv", "batch_norm"}).verdicts
    assert [v.kind for v in used] == [v.kind for v in plain]
    assert all("lsuv" not in v.fix and "batch_norm" not in v.fix for v in used), used


def test_a_run_that_trains_to_little_is_not_called_healthy(one_thread):
    """A learning rate far too low: the probe of the trained net finds nothing wrong, but the
    run learnt little, so its verdict says it did not train and why."""
    recipe = Recipe.from_dict({"data": {"name": "digits"},
                               "model": {"name": "mlp", "depth": 2, "width": 32},
                               "init": {"name": "he_normal"}, "optim": {"name": "sgd", "lr": 1e-4},
                               "train": {"epochs": 1, "threads": 1, "record_every": 5}})
    h = execute(recipe).history
    kinds = [v["kind"] for v in h.verdicts]
    assert "healthy" not in kinds and kinds, kinds
    assert h.final["train_acc"] < 0.5
