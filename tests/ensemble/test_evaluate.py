"""Ensembles of probabilities: copies of one model, probabilities against logits, the oracle."""

import pytest
import torch

from trainwell.ensemble import ensemble_probs, growth_curve, oracle_accuracy, probabilities, score
from trainwell.ensemble.evaluate import MismatchError, accuracy


class Fixed(torch.nn.Module):
    """A 'model' that returns the same logits for every input."""

    def __init__(self, logits):
        super().__init__()
        self.register_buffer("logits", torch.tensor(logits, dtype=torch.float32))

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_an_ensemble_of_copies_of_one_model_has_that_models_accuracy():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4))
    x, y = torch.randn(300, 6), torch.randint(0, 4, (300,))
    p = probabilities(model, x)
    single = accuracy(p, y)
    for k in (2, 3, 5):
        s = score([p.clone() for _ in range(k)], y)
        assert s.ensemble == pytest.approx(single)
        assert s.members == [pytest.approx(single)] * k
        assert s.oracle == pytest.approx(single)
        assert s.gain == pytest.approx(0.0)
    assert 0.0 < single < 1.0  # the check above is not trivially about a perfect model


def test_the_ensemble_averages_probabilities_not_logits():
    # One member is extremely sure of class 0 in logit space; two prefer class 1. Mean logits
    # pick class 0, mean probabilities pick class 1 (the sure member's probability saturates).
    members = [Fixed([20.0, 0.0]), Fixed([0.0, 3.0]), Fixed([0.0, 3.0])]
    x, y = torch.zeros(4, 1), torch.ones(4, dtype=torch.long)
    mean_logits = torch.stack([m(x) for m in members]).mean(0)
    assert mean_logits.argmax(1).tolist() == [0, 0, 0, 0]
    probs = [probabilities(m, x) for m in members]
    assert ensemble_probs(probs).argmax(1).tolist() == [1, 1, 1, 1]
    assert score(probs, y).ensemble == 1.0


def test_oracle_counts_a_sample_right_when_any_member_is():
    y = torch.tensor([0, 1, 2])
    a = torch.eye(3)[[0, 0, 0]]
    b = torch.eye(3)[[1, 1, 1]]
    assert oracle_accuracy([a, b], y) == pytest.approx(2 / 3)
    assert score([a, b], y).members == [pytest.approx(1 / 3)] * 2


def test_growth_curve_is_the_ensemble_of_the_first_k():
    torch.manual_seed(1)
    y = torch.randint(0, 3, (50,))
    members = [torch.rand(50, 3).softmax(1) for _ in range(4)]
    curve = growth_curve(members, y)
    assert curve == [pytest.approx(score(members[:k], y).ensemble) for k in range(1, 5)]


def test_members_of_different_shapes_do_not_form_an_ensemble():
    with pytest.raises(MismatchError, match="shape"):
        ensemble_probs([torch.rand(5, 3), torch.rand(4, 3)])
    with pytest.raises(MismatchError, match="labels"):
        score([torch.rand(5, 3)], torch.zeros(4, dtype=torch.long))
