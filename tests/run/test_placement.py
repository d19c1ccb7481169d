"""Where runs go: worker slots per GPU, the device each run trains on, and its record."""

import pytest
import torch

import trainwell.run as run
import trainwell.run.local as local
from trainwell.cli import main
from trainwell.recipe import Recipe
from trainwell.run import gpu_slots, make_backend, placed_device
from trainwell.sweep import run_id


def test_every_gpu_gets_runs_per_gpu_workers(monkeypatch):
    monkeypatch.setattr(local, "visible_gpus", lambda: ["cuda:0", "cuda:1", "cuda:2"])
    monkeypatch.setattr(local, "default_workers", lambda: 12)
    backend = make_backend("local", runs_per_gpu=2, workers=5)
    assert [w.slot for w in backend._workers] == ["cuda:0", "cuda:0", "cuda:1", "cuda:1",
                                                  "cuda:2", "cuda:2"]
    assert backend._threads == 2 and backend.free() == 6


def test_without_gpus_workers_are_cpu_slots_sharing_the_cores(monkeypatch):
    monkeypatch.setattr(local, "visible_gpus", lambda: [])
    monkeypatch.setattr(local, "default_workers", lambda: 8)
    backend = make_backend("local", workers=4)
    assert [w.slot for w in backend._workers] == [None] * 4 and backend._threads == 2
    assert gpu_slots([], 3, 2) == [None, None]


@pytest.mark.parametrize(("recipe_device", "slot", "placed"), [
    ("auto", None, "cpu"), ("auto", "cuda:1", "cuda:1"), ("cuda", "cuda:2", "cuda:2"),
    ("cpu", "cuda:0", "cpu"), ("cuda:3", "cuda:0", "cuda:3"), ("cuda", None, "cuda")])
def test_placed_device(recipe_device, slot, placed):
    assert placed_device(recipe_device, slot) == placed


def test_the_run_id_does_not_depend_on_placement():
    r = Recipe.from_dict({"train": {"device": "auto"}})
    assert run_id(r.to_dict()) == run_id(Recipe.from_dict(r.to_dict()).to_dict())
    assert "cuda" not in str(r.to_dict())


@pytest.mark.parametrize(("argv", "key"), [
    (["--backend", "spark"], "--backend"), (["--workers", "0"], "--workers"),
    (["--runs-per-gpu", "0"], "--runs-per-gpu"), (["--retries", "-1"], "--retries"),
    (["--backend", "ray", "--cpus-per-run", "0"], "--cpus-per-run")])
def test_bad_backend_options_exit_2_and_write_nothing(argv, key, tmp_path, capsys):
    assert main(["compare", "--root", str(tmp_path), *argv]) == 2
    assert key in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_local_sweep_on_a_gpu_records_its_device(tmp_path):
    from trainwell.run.store import Store
    from trainwell.sweep import Sweep

    s = Sweep.from_dict({"data": {"name": "digits"}, "train": {"epochs": 1}}, experiment="g")
    outcome = run.run_sweep(s, root=tmp_path, quiet=True)
    with Store(outcome.folder / "results.db") as store:
        assert store.runs("g")[0].device.startswith("cuda:")
