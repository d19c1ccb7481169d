"""One rule for non-finite numbers, used wherever numbers leave for JSON or SQLite."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import trainwell
from trainwell._numbers import finite_floats, finite_or_none
from trainwell.diagnose import Diagnosis, LayerStats
from trainwell.loop.history import History


@pytest.mark.parametrize("value, expected", [
    (1.5, 1.5), (3, 3.0), (0.0, 0.0), (None, None), (math.nan, None), (math.inf, None),
    (-math.inf, None), (np.float32(2.5), 2.5), (np.float32("nan"), None),
    (torch.tensor(0.25), 0.25), (torch.tensor(float("inf")), None),
])
def test_finite_or_none(value, expected):
    out = finite_or_none(value)
    assert out == expected and (out is None or type(out) is float)


def test_finite_floats_walks_containers_and_leaves_other_values():
    data = {"a": [1.0, math.nan, (math.inf, "x")], "b": {"c": -math.inf, "d": 7}, "e": None}
    assert finite_floats(data) == {"a": [1.0, None, (None, "x")], "b": {"c": None, "d": 7},
                                   "e": None}
    assert isinstance(finite_floats((1.0,)), tuple) and finite_floats("nan") == "nan"


def test_a_diagnosis_writes_no_non_finite_number_even_inside_lists():
    stats = LayerStats(index=1, name="0", kind="linear", activation="relu", units=2,
                       act_mean=math.inf, act_std=math.nan, hist_counts=[1, 1],
                       hist_edges=[0.0, math.inf, math.nan], dead_fraction=0.5,
                       saturated_fraction=None, grad_norm=math.nan, weight_grad_norm=1.0,
                       weight_norm=2.0, weight_gain=1.0, bias_mean=None, symmetric_group=1)
    data = Diagnosis(layers=[stats], loss=math.nan, batch_size=4).to_dict()
    json.dumps(data, allow_nan=False)
    assert data["loss"] is None and data["layers"][0]["hist_edges"] == [0.0, None, None]
    assert data["layers"][0]["units"] == 2 and data["layers"][0]["activation"] == "relu"


def test_history_keeps_ints_and_drops_non_finite_floats():
    h = History()
    h.add_epoch(epoch=1, train_loss=math.nan, lr=0.1)
    h.set_final(train_loss=np.float64(math.inf), train_acc=1)
    assert h.epochs == [{"epoch": 1, "train_loss": None, "lr": 0.1}]
    assert h.final == {"train_loss": None, "train_acc": 1.0}


def test_no_module_keeps_its_own_copy_of_the_rule():
    src = Path(trainwell.__file__).parent
    own = [f"{p.relative_to(src)}:{node.name}" for p in src.rglob("*.py")
           for node in ast.walk(ast.parse(p.read_text()))
           if isinstance(node, ast.FunctionDef) and node.name.startswith("_finite")]
    assert own == []
