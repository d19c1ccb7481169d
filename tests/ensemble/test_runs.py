"""Ensembles of stored runs: predictions in every run folder, the ensemble of each grid point's
seeds in the tables and the report, and ``trainwell ensemble``."""

import re

import pytest
import torch

from trainwell.cli import main
from trainwell.ensemble import load_predictions, score
from trainwell.loop import save_run
from trainwell.recipe import Recipe
from trainwell.report.ensembles import evaluate_runs, select_runs
from trainwell.run.store import open_store
from trainwell.sweep import run_id

SWEEP = """
[data]
name = "digits"
[model]
name = "mlp"
depth = 1
width = 16
[init]
name = ["he_normal", "zeros"]
[train]
epochs = 2
threads = 1
"""

MISMATCHED = """
[data]
name = "mnist1d"
num_samples = [300, 400]
[model]
name = "mlp"
depth = 1
width = 16
[train]
epochs = 1
threads = 1
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    (root / "grid.toml").write_text(SWEEP)
    code = main(["compare", str(root / "grid.toml"), "--seeds", "3", "--root",
                 str(root / "runs"), "--workers", "1", "--quiet"])
    assert code == 0
    return root / "runs" / "grid"


def test_every_finished_run_keeps_its_probabilities(swept):
    with open_store(swept) as store:
        runs = store.runs("grid")
    assert len(runs) == 6
    for r in runs:
        preds = load_predictions(swept / r.id)
        probs, y = preds.probs("test"), preds.targets("test")
        assert probs.shape == (len(y), 10)
        assert torch.allclose(probs.sum(1), torch.ones(len(y)), atol=1e-5)
        acc = float((probs.argmax(1) == y).float().mean())
        assert acc == pytest.approx(r.final["test_acc"], abs=1e-6)
        assert preds.probs("val") is not None and preds.data_id("test")


def test_the_terminal_and_the_report_show_the_ensemble_of_the_seeds(swept, capsys):
    assert main(["report", str(swept)]) == 0
    out = capsys.readouterr().out
    with open_store(swept) as store:
        runs = [r for r in store.runs("grid") if r.point["init.name"] == "he_normal"]
    expected = evaluate_runs(swept, runs).score.ensemble
    assert f"{100 * expected:.1f}" in out
    assert "ensemble of seeds (%)" in out
    html = (swept / "report.html").read_text()
    assert "ensemble of seeds (%)" in html and f"{100 * expected:.1f}" in html
    assert 'id="ensembles"' in html


def test_trainwell_ensemble_prints_members_mean_ensemble_and_oracle(swept, capsys):
    assert main(["ensemble", str(swept), "--where", "init.name=he_normal"]) == 0
    out = capsys.readouterr().out
    with open_store(swept) as store:
        runs = select_runs(store.runs("grid"), ["init.name=he_normal"])
    assert len(runs) == 3
    s = evaluate_runs(swept, runs).score
    line = re.search(r"members' mean ([\d.]+) · ensemble ([\d.]+) .* oracle ([\d.]+)", out)
    assert line is not None
    assert [float(v) for v in line.groups()] == pytest.approx(
        [round(100 * s.mean, 2), round(100 * s.ensemble, 2), round(100 * s.oracle, 2)])
    for r in runs:
        assert r.id in out


def test_select_runs_by_seed_and_by_recipe_path(swept):
    with open_store(swept) as store:
        runs = store.runs("grid")
    assert {r.seed for r in select_runs(runs, ["seed=1"])} == {1}
    assert len(select_runs(runs, ["init.name=zeros", "seed=2"])) == 1


def test_bad_where_and_empty_selection_exit_2(swept, capsys):
    assert main(["ensemble", str(swept), "--where", "colour=red"]) == 2
    assert "--where = 'colour=red'" in capsys.readouterr().err
    assert main(["ensemble", str(swept), "--where", "init=lsuv"]) == 2
    assert "no run" in capsys.readouterr().err
    assert main(["ensemble", str(swept), "--split", "train"]) == 2


def test_a_set_of_runs_on_different_test_sets_is_rejected(tmp_path, capsys):
    (tmp_path / "mixed.toml").write_text(MISMATCHED)
    assert main(["compare", str(tmp_path / "mixed.toml"), "--root", str(tmp_path / "runs"),
                 "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    code = main(["ensemble", str(tmp_path / "runs" / "mixed")])
    err = capsys.readouterr().err
    assert code == 2
    assert "not evaluated on the same test set" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_recipes_without_ensembles_keep_their_run_ids():
    r = Recipe.from_dict({"data": {"name": "digits"}})
    d = r.to_dict()
    assert "ensemble" not in d and "average" not in d
    assert run_id(d) == run_id(Recipe.from_dict({"data": {"name": "digits"},
                                                 "average": {"kind": "none"}}).to_dict())
    on = Recipe.from_dict({"data": {"name": "digits"}, "average": {"kind": "ema"}}).to_dict()
    assert on["average"]["decay"] == 0.999 and run_id(on) != run_id(d)


def test_artifacts_cannot_escape_the_run_folder(tmp_path):
    from trainwell.loop import History

    with pytest.raises(ValueError, match="outside"):
        save_run(tmp_path / "run", recipe_toml="", history=History(status="done"), weights=None,
                 artifacts={"../evil": {"x": torch.zeros(1)}})
    assert not (tmp_path / "evil.safetensors").exists()


def test_list_names_the_averaging_kinds(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "[average] kind" in out
    for kind in ("ema", "swa", "polyak"):
        assert re.search(rf"\b{kind}\b", out)
    assert "snapshots" in out


def test_a_score_of_stored_members_matches_a_score_of_their_tensors(swept):
    with open_store(swept) as store:
        runs = select_runs(store.runs("grid"), ["init.name=he_normal"])
    preds = [load_predictions(swept / r.id) for r in runs]
    direct = score([p.probs("test") for p in preds], preds[0].targets("test"))
    assert evaluate_runs(swept, runs).score == direct
