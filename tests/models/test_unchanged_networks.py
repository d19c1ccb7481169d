"""Options left at their defaults build the networks trainwell built before dropout modes,
DropConnect, batch-norm placement and fractional pooling were added.

``networks_at_bf82080.json`` was recorded from the models of commit bf82080: for each case the
module names and types, every state_dict entry (key, shape, sum, index-weighted sum) after
``torch.manual_seed(0)``, and the logits of a fixed input in train mode (after
``torch.manual_seed(2)``) and then in eval mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from trainwell.models import build_model

RECORDED = json.loads((Path(__file__).parent / "networks_at_bf82080.json").read_text())


def build(case: dict) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = build_model(case["model"], input_shape=case["input_shape"], num_classes=10,
                        **case["options"])
    x = torch.randn(4, *case["input_shape"], generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    train_logits = model.train()(x)
    return model, train_logits, model.eval()(x)


def summary(tensor: torch.Tensor) -> tuple[float, float]:
    flat = tensor.detach().double().flatten()
    weights = torch.arange(1, flat.numel() + 1, dtype=torch.float64)
    return float(flat.sum()), float((flat * weights).sum())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_same_modules_parameters_and_outputs_as_recorded(name):
    case = RECORDED[name]
    model, train_logits, eval_logits = build(case)
    assert [[n, type(m).__name__] for n, m in model.named_modules()] == case["modules"]
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [s[:2] for s in case["state"]]
    # Dropout while training rounds x·m/(1−p) where torch rounded x·(m/(1−p)): the same masks,
    # values a few ulp apart, which batch norm's running statistics then carry.
    for key, _, total, weighted in case["state"]:
        assert summary(state[key]) == pytest.approx((total, weighted), rel=1e-6, abs=1e-6), key
    assert train_logits.flatten().tolist() == pytest.approx(case["train_logits"], abs=2e-6)
    assert eval_logits.flatten().tolist() == pytest.approx(case["eval_logits"], abs=2e-6)


@pytest.mark.parametrize("name", [n for n in sorted(RECORDED) if "dropout" not in n])
def test_parameters_without_dropout_match_to_the_last_bit(name):
    case = RECORDED[name]
    model, _, _ = build(case)
    state = model.state_dict()
    for key, _, total, weighted in case["state"]:
        assert summary(state[key]) == pytest.approx((total, weighted), rel=1e-12, abs=1e-12), key
