"""The doctor on a tiny broken recipe: found, raced, repaired, written; picked on validation."""

import re
import tomllib

import pytest

import trainwell as tw
from trainwell.cli import main
from trainwell.doctor import Candidate, doctor, propose_fixes
from trainwell.doctor.doctor import _pick
from trainwell.doctor.lr_range import asks_range
from trainwell.recipe import Recipe, load_recipe
from trainwell.run import open_store

pytestmark = pytest.mark.usefixtures("one_thread")

BROKEN = """name = "sigmoid-6"
[data]
name = "digits"
[model]
name = "mlp"
depth = 6
width = 32
activation = "sigmoid"
[init]
name = "normal"
[optim]
name = "sgd"
lr = 0.05
[train]
epochs = 3
record_every = 10
"""


def test_the_doctor_finds_a_deep_sigmoid_mlp_vanishing_and_repairs_it(tmp_path, capsys):
    (tmp_path / "broken.toml").write_text(BROKEN)
    out = tmp_path / "out"
    assert main(["doctor", str(tmp_path / "broken.toml"), "--out", str(out), "--fixes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "vanishing gradient" in printed and "* relu + he_normal" in printed
    assert "original                     diverged: stopped at step" in printed  # and why
    assert "(chance)" in printed and "where it stopped ->" in printed
    assert re.search(r"^screened \d+ recipes on 1 of 3 epochs each; the best raced", printed, re.M)
    fixed = load_recipe(out / "fixed.toml")
    assert fixed.model.options["activation"] == "relu" and fixed.init.name == "he_normal"
    assert fixed.model.options["depth"] == 6 and fixed.model.options["width"] == 32  # the rest kept
    page = (out / "doctor.html").read_text()
    assert "Verdicts over time" in page and "vanishing" in page and "<polyline" in page
    report = (out / "doctor" / "report.html").read_text()  # the race's: its table, no figures
    assert "relu + he_normal" in report and "Left out of this page" in report
    assert "data:image/png" not in report and "gradient flow" not in report.lower()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["doctor"]  # one experiment
    with open_store(out / "doctor") as store:  # the screening rounds are its earlier grids
        raced = {r.id for r in store.runs("doctor")}
        screened = {r.point["variant"]["label"]: r for r in store.runs("doctor", all_runs=True)
                    if r.id not in raced}
    rounds = {n: sorted(label for label in screened if label.count("; ") == n) for n in range(3)}
    assert rounds[0] == ["glorot_normal", "relu + he_normal"]  # round 1: the symptom's fixes
    # round 2 builds on the round's best on validation: Adam's step on top of it
    best = max(rounds[0], key=lambda label: screened[label].final["val_acc"])
    assert best == "relu + he_normal"
    assert rounds[1] == [f"{best}; adam", f"{best}; adam lr 0.01"]
    # an eighth of the budget each, at least an epoch: one of the three
    assert all(r.recipe["train"]["epochs"] == 1 and "max_steps" not in r.recipe["train"]
               for r in screened.values())
    assert all(r.recipe["train"]["stop_on"] == ["nan"] and r.recipe["train"]["eval_every"] == 0
               for r in screened.values())  # stopped on nan, evaluated once at the end
    assert not any((out / "doctor" / r.id / "weights.safetensors").exists()
                   for r in screened.values())  # a screening run keeps its recipe and history
    assert all((out / "doctor" / r.id / "history.json").is_file() for r in screened.values())
    assert not any(r.verdicts for r in screened.values())  # judged by the live monitor alone
    with open_store(out / "doctor") as store:
        runs = {r.point["variant"]["label"]: r for r in store.runs("doctor")}
    top = max((label for label in screened), key=lambda label: screened[label].final["val_acc"])
    assert sorted(runs) == sorted(["original", top])  # the original trained once; the best raced
    assert runs[top].recipe == {**screened[top].recipe, "train": runs[top].recipe["train"]}
    assert "stop_on" not in runs[top].recipe["train"] and fixed.train.stop_on is None
    assert (out / "doctor" / runs[top].id / "weights.safetensors").is_file()  # a raced run keeps all
    assert runs["original"].verdicts  # and has its final diagnosis
    # the original stopped at chance after its first epoch, recorded as such
    assert runs["original"].status == "diverged" and "(chance)" in runs["original"].stop_reason
    assert runs["original"].recipe["train"]["stop_on"] == ["nan", "chance"]
    assert runs[top].final["val_acc"] > 0.4
    assert all(r.recipe["train"]["epochs"] == 3 for r in runs.values())  # equal budgets
    assert f"* {top}" in printed


def test_a_screening_budget_that_ends_within_an_epoch_is_counted_in_steps(tmp_path):
    raw = tomllib.loads(BROKEN.replace("epochs = 3", "epochs = 12"))
    result = doctor(raw, out=tmp_path, limit=1, rounds=1, report=False)
    steps_per_epoch = -(-1294 // 64)  # digits' training split, batches of 64: 21
    assert result.screen_budget == f"32 of {12 * steps_per_epoch} steps"  # 252 / 8, rounded
    with open_store(tmp_path / "doctor") as store:
        (run,) = store.runs(ids=[result.screened[0].run_id])
        losses = store.metrics([run.id], ["loss"])
    assert run.recipe["train"]["epochs"] == 2 and run.recipe["train"]["max_steps"] == 32
    assert run.status == "done" and len(losses) == 32 and run.final["val_acc"] is not None
    assert "max_steps" not in result.fixed.to_dict()["train"]  # the race trains the full budget


def test_the_range_test_runs_only_when_its_fix_would_be_screened():
    sgd = Recipe.from_dict({"model": {"name": "mlp", "activation": "sigmoid"},
                            "init": {"name": "normal"}, "optim": {"name": "sgd", "lr": 0.1}})
    assert asks_range(sgd, ["lr_high"], None, 4)  # its fix comes first
    assert not asks_range(sgd, ["vanishing"], None, 4)  # no learning-rate symptom
    # vanishing's four fixes fill the first places: the range test's lr would come fifth or later
    assert not asks_range(sgd, ["vanishing", "slow"], None, 2)
    assert asks_range(sgd, ["slow"], None, 4)


def test_a_bad_fix_count_is_said(tmp_path):
    assert main(["doctor", "--fixes", "0", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_the_pick_is_on_validation_never_the_test_set():
    def cand(label, val, test, loss=1.0, status="done"):
        return Candidate(label, "", label, status, val, loss, test, 1.0)

    assert _pick([cand("original", 0.5, 0.5), cand("a", 0.6, 0.1), cand("b", 0.55, 0.99)]) == "a"
    assert _pick([cand("original", 0.6, 0.5), cand("a", 0.6, 0.9)]) == "original"  # a tie keeps it
    assert _pick([cand("original", 0.6, 0.5, loss=0.9), cand("a", 0.6, 0.9, loss=0.5)]) == "a"
    assert _pick([cand("original", 0.2, 0.2), cand("a", None, None, status="diverged")]) == "original"
    assert tw.doctor is doctor


def test_fixes_fit_the_symptom_and_the_model():
    relu = Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}})
    assert [f.label for f in propose_fixes(relu, ["dying_relu"])] == ["leaky_relu", "lr 0.01"]
    assert [f.label for f in propose_fixes(relu, ["exploding"], limit=2)] == ["clip_norm 1", "lr 0.01"]
    labels = [f.label for f in propose_fixes(relu, ["lr_high"], lr=0.003)]
    assert labels[:2] == ["lr 0.003 (range test)", "lr 0.01"] and "warm-up" in labels
    # an activation the model does not take is not proposed
    linear = Recipe.from_dict({"model": {"name": "linear"}, "init": {"name": "zeros"}})
    assert all("activation" not in f.changes.get("model", {}) for f in propose_fixes(linear, ["slow"]))
    overfit = propose_fixes(relu, [], gap=0.3)
    assert [f.label for f in overfit] == ["dropout 0.3", "l2 1e-4"]
    assert propose_fixes(relu, [], gap=0.05) == []


def test_a_recipe_that_fails_to_run_is_said_and_nothing_is_raced(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_models.py").write_text(
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc, self.act = torch.nn.Linear(64, 10), torch.nn.ReLU()\n"
        "    def forward(self, x):\n"
        "        raise RuntimeError('this network cannot run')\n"
        "def net(input_shape, num_classes):\n"
        "    return Net()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "r.toml").write_text('[data]\nname = "digits"\n[model]\nname = "broken_models:net"\n'
                                     '[train]\nepochs = 1\n')
    assert main(["doctor", str(tmp_path / "r.toml"), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "the recipe failed, so nothing was raced" in printed and "cannot run" in printed
    with open_store(tmp_path / "out" / "doctor") as store:
        assert [r.point["variant"]["label"] for r in store.runs("doctor", all_runs=True)] == ["original"]


def test_tw_doctor_takes_a_dict_or_a_file_as_tw_train_does(tmp_path):
    import tomllib

    import trainwell as tw

    (tmp_path / "broken.toml").write_text(BROKEN)
    from_dict = tw.doctor(tomllib.loads(BROKEN), out=tmp_path / "a", limit=1, rounds=1,
                          report=False)
    from_file = tw.doctor(tmp_path / "broken.toml", out=tmp_path / "b", limit=1, rounds=1,
                          report=False)
    assert from_dict.recipe == from_file.recipe == load_recipe(tmp_path / "broken.toml")
    assert (tmp_path / "a" / "fixed.toml").is_file() and from_dict.symptoms
    # its run stopped at chance: diverged, but not named nan
    assert from_dict.original.status == "diverged" and "chance" in from_dict.symptoms
    assert "nan" not in from_dict.symptoms
    assert load_recipe(tmp_path / "a" / "fixed.toml").train.stop_on is None
    assert {"original", "screening", "race", "report", "page"} <= set(from_dict.phases)
    assert sum(from_dict.phases.values()) <= from_dict.seconds
