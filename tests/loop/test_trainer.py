import json
import math
import subprocess
import sys

import pytest
import torch

from trainwell.execute import build_initialized_model, check_runnable, execute, prepare_data
from trainwell.recipe import Recipe
from trainwell.loop import Callback, StopTraining, fit

DIGITS = {"name": "digits"}


def recipe(**sections) -> Recipe:
    raw = {"data": DIGITS, "model": {"name": "mlp", "depth": 2, "width": 32},
           "init": {"name": "he_normal"}, "optim": {"name": "adam", "lr": 3e-3},
           "train": {"epochs": 3, "batch_size": 64, "threads": 1}}
    for k, v in sections.items():
        raw[k] = {**raw.get(k, {}), **v} if k in raw and "name" not in v else v
    return Recipe.from_dict(raw)


def test_loss_goes_down_and_history_is_complete():
    r = recipe(train={"epochs": 4})
    ds = prepare_data(r, torch.device("cpu"))
    res = execute(r, dataset=ds)
    h = res.history
    assert h.status == "done"
    steps_per_epoch = math.ceil(len(ds.x_train) / 64)
    assert len(h.step_loss) == 4 * steps_per_epoch
    assert [e["epoch"] for e in h.epochs] == [1, 2, 3, 4]
    assert h.epochs[-1]["train_loss"] < 0.5 * h.epochs[0]["train_loss"]
    assert h.final["test_acc"] > 0.85
    assert set(h.final) == {f"{s}_{m}" for s in ("train", "val", "test") for m in ("loss", "acc")}
    assert all(e["val_acc"] is not None for e in h.epochs)


def test_eval_every_zero_evaluates_only_at_the_end():
    h = execute(recipe(train={"epochs": 2, "eval_every": 0})).history
    assert all("val_acc" not in e for e in h.epochs)
    assert h.final["val_acc"] is not None


def test_huge_learning_rate_diverges_with_its_step():
    r = recipe(init={"name": "uniform", "a": -3.0, "b": 3.0}, optim={"name": "sgd", "lr": 1e6})
    ds = prepare_data(r, torch.device("cpu"))
    h = execute(r, dataset=ds).history
    assert h.status == "diverged"
    assert h.diverged_step is not None and h.step_loss[h.diverged_step] is None
    assert all(v is not None for v in h.step_loss[:h.diverged_step])
    steps_per_epoch = math.ceil(len(ds.x_train) / 64)
    assert len(h.step_loss) == (h.diverged_step // steps_per_epoch + 1) * steps_per_epoch
    assert h.epochs == [] or len(h.epochs) == h.diverged_step // steps_per_epoch


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def __getattr__(self, name):
        if name.startswith(("before_", "after_")):
            return lambda state: self.events.append((name, state.epoch))
        raise AttributeError(name)


def test_callbacks_see_every_event_in_order():
    rec = Recorder()
    r = recipe(train={"epochs": 2, "batch_size": 1000})
    ds = prepare_data(r, torch.device("cpu"))
    model = build_initialized_model(r, ds, torch.device("cpu"))
    fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=1000,
        callbacks=[rec])
    names = [e for e, _ in rec.events]
    steps = math.ceil(len(ds.x_train) / 1000)
    per_step = ["before_step", "after_loss", "after_backward", "after_step"] * steps
    assert names == (["before_fit"] + (["before_epoch"] + per_step + ["after_epoch"]) * 2
                     + ["after_fit"])


class StopAfter(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def after_epoch(self, state):
        if state.epoch + 1 >= self.epochs:
            raise StopTraining("enough", status="done")


def test_stop_training_from_a_callback():
    h = execute(recipe(train={"epochs": 10}), callbacks=[StopAfter(2)]).history
    assert h.status == "done" and h.stop_reason == "enough" and len(h.epochs) == 2
    assert h.final["test_acc"] is not None


class Boom(Callback):
    def after_step(self, state):
        if state.step == 3:
            raise RuntimeError("kaboom")


def test_an_exception_during_training_is_recorded_as_failed():
    h = execute(recipe(), callbacks=[Boom()]).history
    assert h.status == "failed" and "kaboom" in h.error and "Traceback" in h.traceback


def _zero_init_run(activation):
    r = recipe(model={"name": "mlp", "depth": 3, "width": 16, "activation": activation},
               init={"name": "zeros"}, optim={"name": "sgd", "lr": 0.5},
               train={"epochs": 3, "threads": 1})
    ds = prepare_data(r, torch.device("cpu"))
    model = build_initialized_model(r, ds, torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    h = fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.5), epochs=3, batch_size=64)
    assert h.status == "done"
    return model, before


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_zero_init_never_breaks_symmetry(activation):
    model, _ = _zero_init_run(activation)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears[:-1]:
        w, b = layer.weight.detach(), layer.bias.detach()
        assert torch.equal(w, w[:1].expand_as(w)), "hidden units diverged from each other"
        assert torch.equal(b, b[:1].expand_as(b))
    if activation == "sigmoid":  # the output layer did learn something, identically per unit
        assert linears[-1].weight.abs().sum() > 0


def test_zero_init_relu_moves_only_the_output_bias():
    model, before = _zero_init_run("relu")
    after = model.state_dict()
    head_bias = [k for k in after if k.endswith("bias")][-1]
    moved = [k for k in after if not torch.equal(after[k], before[k])]
    assert moved == [head_bias]


DETERMINISM_SCRIPT = """
import hashlib, json, sys
from trainwell.recipe import Recipe
from trainwell.execute import execute
r = Recipe.from_dict(json.loads(sys.argv[1]))
res = execute(r)
h = hashlib.sha256()
for k, v in sorted(res.weights.items()):
    h.update(k.encode()); h.update(v.detach().cpu().numpy().tobytes())
print(json.dumps({"weights": h.hexdigest(), "history": res.history.step_loss, "final": res.history.final}))
"""


def test_same_recipe_and_seed_are_bit_identical_in_two_fresh_processes():
    raw = recipe(model={"name": "mlp", "depth": 2, "width": 32, "dropout": 0.2},
                 train={"epochs": 2, "seed": 3, "threads": 1}).to_dict()
    outs = [subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT, json.dumps(raw)],
                           capture_output=True, text=True, check=True).stdout for _ in range(2)]
    a, b = (json.loads(o) for o in outs)
    assert a == b
    other = dict(raw, train={**raw["train"], "seed": 4})
    c = json.loads(subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT, json.dumps(other)],
                                  capture_output=True, text=True, check=True).stdout)
    assert c["weights"] != a["weights"]


def test_a_schedule_in_the_recipe_changes_the_lr_and_is_recorded():
    r = recipe(optim={"name": "sgd", "lr": 0.1},
               schedule={"name": "step", "step_size": 1, "gamma": 0.5},
               train={"epochs": 3, "batch_size": 256})
    h = execute(r).history
    assert [e["lr"] for e in h.epochs] == pytest.approx([0.1, 0.05, 0.025])
    assert len(h.step_lr) == len(h.step_loss)


def test_lbfgs_trains_full_batch_and_refuses_minibatches():
    from trainwell.errors import ConfigError

    full = recipe(optim={"name": "lbfgs", "lr": 1.0}, train={"epochs": 3, "batch_size": 100000})
    h = execute(full).history
    assert h.status == "done" and h.step_loss[-1] < h.step_loss[0]
    mini = recipe(optim={"name": "lbfgs"}, train={"epochs": 1, "batch_size": 64})
    with pytest.raises(ConfigError, match="train.batch_size"):
        check_runnable(mini, prepare_data(mini, torch.device("cpu")))
    out = execute(mini)
    assert out.status == "failed" and "train.batch_size" in out.history.error
    assert out.history.phase == "prepare" and out.weights is None


def test_stopping_mid_epoch_keeps_the_steps_taken():
    class StopAt(Callback):
        def after_step(self, state):
            if state.step == 4:
                raise StopTraining("enough")

    h = execute(recipe(), callbacks=[StopAt()]).history
    assert len(h.step_loss) == 5 and h.status == "done"


def test_trainwell_max_threads_caps_every_runs_threads(monkeypatch):
    import torch

    from trainwell.errors import ConfigError
    from trainwell.loop.device import max_threads, set_threads

    old = torch.get_num_threads()
    try:
        monkeypatch.setenv("TRAINWELL_MAX_THREADS", "1")
        set_threads(2)
        assert torch.get_num_threads() == 1 and max_threads() == 1
        monkeypatch.setenv("TRAINWELL_MAX_THREADS", "0")
        with pytest.raises(ConfigError, match="TRAINWELL_MAX_THREADS"):
            set_threads(2)
        monkeypatch.delenv("TRAINWELL_MAX_THREADS")
        set_threads(2)
        assert torch.get_num_threads() == 2 and max_threads() is None
    finally:
        torch.set_num_threads(old)
