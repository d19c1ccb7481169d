"""regularize_pick.py chooses the combined row's regularizers on validation accuracy: the
single regularizers above the baseline's mean plus its standard deviation, never the deeper
network or the combined row itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from trainwell.experiments import experiment_path
from trainwell.sweep import load_sweep

SCRIPT = Path(__file__).resolve().parents[2] / "studies" / "regularize_pick.py"


@pytest.fixture(scope="module")
def pick():
    spec = importlib.util.spec_from_file_location("regularize_pick", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bar_is_the_baselines_mean_plus_its_std_and_only_single_regularizers_pass(pick):
    val = {"none": [0.80, 0.84], "dropout (0.5)": [0.86, 0.87], "L2 (1e-3)": [0.84, 0.845],
           "batch norm": [0.90, 0.91], "deeper: 12 blocks, none": [0.95, 0.95],
           "combined: batch norm, dropout": [0.97, 0.97]}
    bar, chosen = pick.choose(val)
    assert bar == pytest.approx(0.82 + 0.0282843, abs=1e-6)
    assert chosen == ["batch norm", "dropout"]


def test_every_label_of_the_experiment_is_read_as_the_rule_expects(pick):
    labels = {p["variant"]["label"] for p, _, _ in load_sweep(experiment_path("regularize")).recipes()}
    assert pick.BASELINE in labels
    combined = [label for label in labels if label.startswith(pick.COMBINED)]
    assert len(combined) == 1
    singles = {pick.short(label) for label in labels}
    assert {p.strip() for p in combined[0].removeprefix(pick.COMBINED).split(",")} <= singles
    assert any(label.startswith(pick.NOT_SINGLE) for label in labels)
