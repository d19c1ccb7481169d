"""execute(recipe): the failure boundary, the outcome, and what the driver does with it."""

import importlib

import pytest
import torch

from trainwell.execute import RunContext, execute
from trainwell.pretrain import DATA_INITIALIZERS
from trainwell.recipe import Recipe
from trainwell.run import run_sweep
from trainwell.run.backend import Finished, Started, Task, run_task
from trainwell.run.store import Store
from trainwell.sweep import Sweep

ex = importlib.import_module("trainwell.execute")

BASE = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 16},
        "train": {"epochs": 1, "threads": 1}}


def recipe(**sections):
    return Recipe.from_dict({**BASE, **sections})



def test_a_factory_that_raises_gives_a_failed_run_with_its_phase(monkeypatch):
    import types

    mod = types.ModuleType("tw_raising_factory")

    def make(input_shape, num_classes):
        raise MemoryError("no room for this model")

    mod.make = make
    monkeypatch.setitem(__import__("sys").modules, "tw_raising_factory", mod)
    out = execute(recipe(model={"name": "tw_raising_factory:make"}))
    assert out.status == "failed" and out.weights is None
    assert "MemoryError: no room for this model" in out.history.error
    assert out.history.phase == "build"


def test_a_pretraining_that_raises_a_foreign_error_fails_the_run(monkeypatch):
    def broken(model, data, **kw):
        raise RuntimeError("CUDA out of memory while pre-training")

    r = recipe(init={"name": "dbn", "epochs": 1})
    monkeypatch.setitem(DATA_INITIALIZERS, "dbn", broken)
    out = execute(r)
    assert out.status == "failed" and "out of memory" in out.history.error
    assert out.history.phase == "initialize"


def test_a_diagnosis_that_raises_leaves_the_run_done_with_its_weights(monkeypatch):
    def broken(*a, **kw):
        raise ValueError("probe failed")

    monkeypatch.setattr(ex, "diagnose", broken)
    out = execute(recipe(train={"epochs": 1, "record_every": 5}))
    assert out.status == "done" and out.weights and out.history.verdicts is None
    assert out.history.diagnosis_error == "ValueError: probe failed"


class InlineBackend:
    """Runs each task in this process (so monkeypatches apply)."""

    name = "inline"

    def __init__(self):
        self.queue = []

    def free(self):
        return 1 - len(self.queue)

    def submit(self, task: Task):
        self.queue.append(task)

    def poll(self, timeout):
        task, self.queue = self.queue.pop(), []
        return [Started(task.id, "inline"), Finished(task.id, run_task(task))]

    def cancel(self):
        self.queue = []

    def close(self):
        pass


def test_the_driver_keeps_the_weights_of_a_run_whose_diagnosis_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "diagnose", lambda *a, **k: 1 / 0)
    s = Sweep.from_dict({**BASE, "train": {"epochs": 1, "record_every": 5}}, experiment="d")
    outcome = run_sweep(s, root=tmp_path, backend=InlineBackend(), quiet=True)
    assert outcome.statuses == {"done": 1}
    with Store(outcome.folder / "results.db") as store:
        row = store.runs("d")[0]
    assert row.verdicts is None and row.worker.endswith(str(__import__("os").getpid()))
    assert (outcome.folder / row.id / "weights.safetensors").is_file()


def test_deterministic_is_on_during_the_run_and_restored_after():
    seen = []

    from trainwell.loop import Callback

    class Look(Callback):
        def before_fit(self, state):
            seen.append(torch.are_deterministic_algorithms_enabled())

    before = torch.are_deterministic_algorithms_enabled()
    out = execute(recipe(train={"epochs": 1, "deterministic": True}), RunContext(callbacks=[Look()]))
    assert out.status == "done" and seen == [True]
    assert torch.are_deterministic_algorithms_enabled() == before


def test_the_device_override_does_not_change_the_recipe():
    r = recipe(train={"epochs": 1, "device": "auto"})
    out = execute(r, RunContext(device="cpu"))
    assert out.device == "cpu" and out.recipe == r


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_run_on_cuda_trains_there_and_returns_cpu_weights():
    out = execute(recipe(train={"epochs": 1, "device": "cuda", "deterministic": True}))
    assert out.status == "done" and out.device.startswith("cuda")
    assert all(t.device.type == "cpu" for t in out.weights.values())


def test_a_run_whose_artifacts_are_not_kept_skips_only_the_predictions_it_would_discard():
    plain = Recipe.from_dict(BASE)
    kept, bare = execute(plain), execute(plain, RunContext(artifacts=False))
    assert "predictions" in kept.artifacts and "predictions" not in bare.artifacts
    assert bare.history.final == kept.history.final and bare.weights is not None
    # test-time views change the final metrics: computed whether kept or not
    views = Recipe.from_dict({**BASE, "augment": {"transforms": ["translate"], "test_views": 2}})
    out = execute(views, RunContext(artifacts=False))
    assert "test_acc_single" in out.history.final and "predictions" in out.artifacts


def test_a_run_without_the_final_diagnosis_keeps_its_live_verdicts():
    sigmoid = recipe(model={"name": "mlp", "depth": 6, "width": 16, "activation": "sigmoid"},
                     init={"name": "normal"}, train={"epochs": 1, "threads": 1, "record_every": 5})
    judged, live = execute(sigmoid), execute(sigmoid, RunContext(diagnose=False))
    assert judged.history.verdicts and not live.history.verdicts
    assert "train_acc" in judged.history.final and "train_acc" not in live.history.final
    assert live.history.final["val_acc"] == judged.history.final["val_acc"]
    assert live.history.watch == judged.history.watch and live.history.watch["verdicts"]
