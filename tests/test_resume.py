"""Runs that resume exactly: execute, `trainwell train --resume` after a real SIGKILL, and a
sweep rerun after its driver was killed, each against the same run uninterrupted."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from trainwell import _toml
from trainwell.cli import main
from trainwell.execute import execute, prepare_data
from trainwell.recipe import Recipe
from trainwell.run import run_sweep
from trainwell.run.store import Store
from trainwell.sweep import Sweep
from trainwell.loop import latest_checkpoint

BASE = {"data": {"name": "mnist1d", "num_samples": 1000},
        "model": {"name": "mlp", "depth": 2, "width": 32, "dropout": 0.2},
        "optim": {"name": "adam", "lr": 3e-3}, "schedule": {"name": "cosine"},
        "augment": {"transforms": [{"name": "shift", "max_shift": 4},
                                   {"name": "noise", "std": 0.05}]},
        "train": {"epochs": 5, "batch_size": 64, "threads": 1, "record_every": 10,
                  "checkpoint_every": 1}}

CASES = {
    "dropout, augmentation, cosine, adam": {},
    "early stopping, momentum": {"optim": {"name": "momentum", "lr": 0.3},
                                 "schedule": {"name": "constant"},
                                 "train": {"epochs": 12, "early_stopping": {
                                     "metric": "val_loss", "patience": 2}}},
    "ema": {"average": {"kind": "ema", "decay": 0.9}},
    "snapshots": {"ensemble": {"snapshots": 2}, "schedule": {"name": "constant"}},
}

STOP_AFTER = 3


def _recipe(changes):
    raw = json.loads(json.dumps(BASE))
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values}
    return Recipe.from_dict(raw)


@pytest.fixture(scope="module")
def mnist1d(one_thread):
    return prepare_data(Recipe.from_dict(BASE), torch.device("cpu"))


class Interrupt:
    order = 1000

    def after_epoch(self, state):
        if state.epoch + 1 == STOP_AFTER:
            raise KeyboardInterrupt


def _same_tensors(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _per_epoch(history):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history.epochs]


@pytest.mark.parametrize("case", CASES)
def test_a_run_stopped_after_an_epoch_resumes_bit_identical(mnist1d, tmp_path, case):
    r = _recipe(CASES[case])
    whole = execute(r, dataset=mnist1d)
    with pytest.raises(KeyboardInterrupt):
        execute(r, dataset=mnist1d, checkpoint_dir=tmp_path, callbacks=[Interrupt()])
    assert latest_checkpoint(tmp_path).epoch == STOP_AFTER - 1
    resumed = execute(r, dataset=mnist1d, checkpoint_dir=tmp_path, resume=True)
    assert resumed.status == whole.status == "done"
    assert _same_tensors(whole.weights, resumed.weights)
    assert whole.artifacts.keys() == resumed.artifacts.keys()
    assert all(_same_tensors(whole.artifacts[k], resumed.artifacts[k]) for k in whole.artifacts)
    assert resumed.history.final == whole.history.final
    assert _per_epoch(resumed.history) == _per_epoch(whole.history)
    assert resumed.history.step_loss == whole.history.step_loss
    assert resumed.history.resumed_from == STOP_AFTER - 1 and whole.history.resumed_from is None
    parts = ("step_lr", "gradient_flow", "verdicts", "snapshots", "early_stopping", "average")
    assert _parts(resumed.history, parts) == _parts(whole.history, parts)
    if case == "early stopping, momentum":
        assert whole.history.early_stopping["stopped_epoch"] > STOP_AFTER
    if case == "snapshots":
        assert len(whole.artifacts) > 2  # predictions and the snapshots' weights


def test_execute_writes_nothing_without_a_checkpoint_dir(mnist1d, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = execute(_recipe({"train": {"epochs": 1}}), dataset=mnist1d)
    assert out.status == "done" and list(tmp_path.iterdir()) == []


CLI_RECIPE = {"data": {"name": "digits"},
              "model": {"name": "mlp", "depth": 2, "width": 64, "dropout": 0.1},
              "optim": {"name": "momentum", "lr": 0.02}, "schedule": {"name": "cosine"},
              "augment": {"transforms": [{"name": "noise", "std": 0.1}]},
              "train": {"epochs": 20, "batch_size": 16, "threads": 1, "record_every": 0,
                        "checkpoint_every": 1}}


def _write_recipe(tmp_path, raw=CLI_RECIPE):
    path = tmp_path / "recipe.toml"
    path.write_text(_toml.dumps(raw))
    return path


def _start(args, tmp_path):
    """``python -m trainwell ARGS`` in a process group of its own (workers included)."""
    with (tmp_path / "killed.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "trainwell", *args], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _kill_when(proc, tmp_path, pattern, timeout=120.0):
    """SIGKILL ``proc``'s process group once a file matching ``pattern`` exists; return it."""
    deadline = time.monotonic() + timeout
    while not (found := sorted(tmp_path.glob(pattern))):
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()
        assert time.monotonic() < deadline, f"no {pattern} after {timeout} s"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return found[0]


def test_a_sigkilled_train_resumes_bit_identical(tmp_path, capsys):
    recipe = _write_recipe(tmp_path)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    proc = _start(["train", str(recipe), "--out", str(killed), "--quiet"], tmp_path)
    _kill_when(proc, tmp_path, "killed/checkpoints/epoch-3/manifest.json")
    assert not (killed / "weights.safetensors").exists()
    left = latest_checkpoint(killed / "checkpoints").epoch
    assert 3 <= left < 20
    assert main(["train", str(recipe), "--out", str(killed), "--resume", "--quiet"]) == 0
    assert f"resuming from {killed / 'checkpoints' / f'epoch-{left}'} (epoch {left} of 20)" \
        in capsys.readouterr().out
    assert main(["train", str(recipe), "--out", str(whole), "--quiet"]) == 0
    assert _same_tensors(load_file(whole / "weights.safetensors"),
                         load_file(killed / "weights.safetensors"))
    h_killed = json.loads((killed / "history.json").read_text())
    h_whole = json.loads((whole / "history.json").read_text())
    assert h_killed["resumed_from"] == left and h_killed["final"] == h_whole["final"]
    assert [e["val_acc"] for e in h_killed["epochs"]] == [e["val_acc"] for e in h_whole["epochs"]]


def test_train_resume_falls_back_past_a_truncated_checkpoint(tmp_path, capsys):
    recipe = _write_recipe(tmp_path, {**CLI_RECIPE, "train": {**CLI_RECIPE["train"], "epochs": 6,
                                                                "batch_size": 64}})
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    assert main(["train", str(recipe), "--out", str(whole), "--quiet"]) == 0
    assert main(["train", str(recipe), "--out", str(killed), "--quiet"]) == 0
    for name in ("weights.safetensors", "history.json"):
        (killed / name).unlink()
    weights = killed / "checkpoints" / "epoch-6" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-7])
    capsys.readouterr()
    assert main(["train", str(recipe), "--out", str(killed), "--resume", "--quiet"]) == 0
    assert "epoch-5 (epoch 5 of 6)" in capsys.readouterr().out
    assert _same_tensors(load_file(whole / "weights.safetensors"),
                         load_file(killed / "weights.safetensors"))
    assert json.loads((killed / "history.json").read_text())["resumed_from"] == 5


def test_train_resume_without_a_checkpoint_starts_from_scratch_and_says_so(tmp_path, capsys):
    recipe = _write_recipe(tmp_path, {**CLI_RECIPE, "train": {**CLI_RECIPE["train"], "epochs": 1,
                                                                "batch_size": 256}})
    assert main(["train", str(recipe), "--out", str(tmp_path / "out"), "--resume", "-q"]) == 0
    assert f"no good checkpoint in {tmp_path / 'out' / 'checkpoints'}: training from scratch" \
        in capsys.readouterr().out
    history = json.loads((tmp_path / "out" / "history.json").read_text())
    assert history["resumed_from"] is None
    assert (tmp_path / "out" / "checkpoints" / "epoch-1" / "manifest.json").is_file()


def test_train_resume_refuses_another_recipes_checkpoint(tmp_path, capsys):
    raw = {**CLI_RECIPE, "train": {**CLI_RECIPE["train"], "epochs": 1, "batch_size": 256}}
    recipe = _write_recipe(tmp_path, raw)
    out = tmp_path / "out"
    assert main(["train", str(recipe), "--out", str(out), "-q"]) == 0
    before = sorted(p.name for p in out.rglob("*"))
    code = main(["train", str(recipe), "--out", str(out), "--resume", "-q",
                 "--set", "train.seed=7"])
    assert code == 2
    assert "train.seed = 7: expected 0, as in the checkpoint" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert main(["train", str(recipe), "--resume", "-q"]) == 2


def test_a_sweep_rerun_resumes_the_run_its_killed_driver_left(tmp_path):
    raw = {**CLI_RECIPE, "sweep": {"experiment": "ck"}}
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(_toml.dumps(raw))
    killed_root, whole_root = tmp_path / "killed", tmp_path / "whole"
    proc = _start(["compare", str(sweep_file), "--root", str(killed_root), "--workers", "1",
                   "--quiet"], tmp_path)
    manifest = _kill_when(proc, tmp_path, "killed/ck/*/checkpoints/epoch-3/manifest.json")
    rid = manifest.parents[2].name
    with Store(killed_root / "ck" / "results.db") as store:
        assert store.runs("ck")[0].status == "running"  # its owner died mid-run
    left = latest_checkpoint(killed_root / "ck" / rid / "checkpoints").epoch

    sweep = Sweep.from_dict(raw, experiment="ck")
    rerun = run_sweep(sweep, root=killed_root, workers=1, quiet=True)
    whole = run_sweep(sweep, root=whole_root, workers=1, quiet=True)
    assert rerun.statuses == whole.statuses == {"done": 1} and rerun.ran == 1
    done_killed, done_whole = killed_root / "ck" / rid, whole_root / "ck" / rid
    h_killed = json.loads((done_killed / "history.json").read_text())
    h_whole = json.loads((done_whole / "history.json").read_text())
    assert h_killed["resumed_from"] == left >= 3
    assert h_whole["resumed_from"] is None
    assert h_killed["final"] == h_whole["final"]
    for name in ("weights.safetensors", "predictions.safetensors"):
        assert _same_tensors(load_file(done_whole / name), load_file(done_killed / name))


def _parts(history, names):
    return {name: getattr(history, name) for name in names}
