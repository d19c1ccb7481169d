"""The optimizers study: step 1 sweeps each optimizer's lr on a validation split; the pick
script chooses on validation accuracy only and writes step 2 with step decay at the plateau
and Adam without bias correction; make docs runs the steps in order."""

from __future__ import annotations

import importlib.util
import math
import tomllib
from pathlib import Path

import pytest

from trainwell.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "studies"


def _pick():
    spec = importlib.util.spec_from_file_location("optimizers_pick", STUDIES / "optimizers_pick.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_one_gives_every_optimizer_three_lrs_a_factor_3_apart_at_a_constant_lr():
    recipes = load_sweep(STUDIES / "optimizers_lr.toml").recipes()
    lrs: dict[str, set[float]] = {}
    for _, _, r in recipes:
        lrs.setdefault(r.optim.name, set()).add(r.optim.options["lr"])
        assert r.schedule.name == "constant" and r.data.options["val_fraction"] == 0.2
        assert r.train.epochs == 100
    assert set(lrs) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    for name, tried in lrs.items():
        low, mid, high = sorted(tried)
        assert math.isclose(mid / low, 3, rel_tol=0.12) and math.isclose(high / mid, 3, rel_tol=0.12), name
    assert len(recipes) == 3 * 3 * len(lrs)


def test_the_plateau_is_where_the_smoothed_curve_comes_within_a_point_of_its_best():
    plateau = _pick().plateau
    rising = [min(1.0, 0.1 * e) for e in range(1, 21)]
    assert plateau(rising) == 14  # 5-epoch means reach 0.99 at epoch 14
    assert plateau([0.9] * 10) == 1


def test_step_two_keeps_the_data_model_and_epochs_and_decays_at_each_plateau(tmp_path):
    pick = _pick()
    sweep = tomllib.loads((STUDIES / "optimizers_lr.toml").read_text())
    rows = [{"name": "sgd", "lr": 0.3, "plateau": 40}, {"name": "adam", "lr": 0.003, "plateau": 100}]
    path = tmp_path / "optimizers.toml"
    path.write_text(pick.study(rows, sweep))
    recipes = {p["variant"]["label"]: r for p, _, r in load_sweep(path).recipes()}
    assert len(recipes) == 5
    step = recipes["sgd (lr 0.3), step decay at epoch 40"]
    assert step.optim.name == "sgd" and step.optim.options["lr"] == 0.3
    assert step.schedule.name == "step" and step.schedule.options["step_size"] == 40
    assert step.schedule.options["gamma"] == 0.1
    # a plateau at the last epoch still gets one drop, before the run ends
    assert recipes["adam (lr 0.003), step decay at epoch 99"].schedule.options["step_size"] == 99
    uncorrected = recipes["adam (lr 0.003) without bias correction, constant"]
    assert uncorrected.optim.options["bias_correction"] is False
    assert "bias_correction" not in recipes["adam (lr 0.003), constant"].optim.options
    for r in recipes.values():
        assert r.data.options["val_fraction"] == 0.2 and r.train.epochs == 100
        assert r.model.options["channels"] == [32, 32]


def test_the_committed_step_two_is_the_scripts_output_format():
    recipes = load_sweep(STUDIES / "optimizers.toml").recipes()
    labels = {p["variant"]["label"] for p, _, _ in recipes}
    assert sum("without bias correction" in label for label in labels) == 1
    assert sum("step decay" in label for label in labels) == 7


def test_make_docs_runs_the_sweep_then_the_pick_then_step_two():
    makefile = (ROOT / "Makefile").read_text()
    order = ["trainwell compare studies/optimizers_lr.toml",
             "studies/optimizers_pick.py runs/optimizers-lr --write studies/optimizers.toml",
             "trainwell compare studies/optimizers.toml",
             "studies/optimizers_pick.py runs/optimizers --first-steps"]
    places = [makefile.index(line) for line in order]
    assert places == sorted(places)
    page = (ROOT / "docs" / "optimizers.md").read_text()
    for marker in ("optimizers-lr-choice", "optimizers", "optimizers-first-steps"):
        assert f"<!-- results: {marker} -->" in page


TINY = """
note = "tiny lr sweep"
[sweep]
experiment = "tiny-lr"
seeds = 2
[data]
name = "digits"
val_fraction = 0.2
[model]
name = "mlp"
depth = 1
width = 16
[[optim]]
name = "sgd"
lr = 0.3
[[optim]]
name = "sgd"
lr = 0.0003
[[optim]]
name = "adam"
lr = 0.01
[[optim]]
name = "adam"
lr = 0.01
bias_correction = false
[train]
epochs = 2
threads = 1
record_every = 0
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from trainwell.cli import main

    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.toml").write_text(TINY)
    assert main(["compare", str(root / "tiny.toml"), "--root", str(root / "runs"),
                 "--workers", "1", "--quiet"]) == 0
    return root / "runs" / "tiny-lr"


def test_the_pick_reads_validation_accuracy_and_the_per_epoch_curves(swept):
    from trainwell.run.store import open_store

    rows = {r["name"]: r for r in _pick().choose(swept)}
    assert set(rows) == {"sgd", "adam"} and set(rows["sgd"]["tried"]) == {0.3, 0.0003}
    with open_store(swept, readonly=True) as store:
        runs = store.runs("tiny-lr")
    val = {lr: sum(r.final["val_acc"] for r in runs if r.recipe["optim"]["lr"] == lr
                   and r.recipe["optim"]["name"] == "sgd") / 2 for lr in (0.3, 0.0003)}
    assert rows["sgd"]["lr"] == max(val, key=val.get) == 0.3
    assert rows["sgd"]["val"] == pytest.approx(val[0.3])
    assert rows["sgd"]["epochs"] == 2 and 1 <= rows["sgd"]["plateau"] <= 2


def test_the_first_steps_table_averages_adams_loss_with_and_without_bias_correction(swept):
    from trainwell.run.store import open_store

    lines = _pick().first_steps(swept).splitlines()
    assert lines[2].startswith("| with bias correction") and lines[3].startswith("| without")
    assert lines[3].rstrip(" |").endswith("-")  # two short epochs never reach steps 201-500
    with open_store(swept, readonly=True) as store:
        runs = store.runs("tiny-lr")
        off = [r.id for r in runs if r.recipe["optim"].get("bias_correction") is False]
        losses = [v for run, step, _, v in store.metrics(off, ["loss"]) if step < 5]
    first_window = float(lines[3].split("|")[2])
    assert first_window == pytest.approx(sum(losses) / len(losses), abs=1e-3)
