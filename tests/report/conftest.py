"""Small stores of synthetic runs for the report tests (no training needed)."""

import math
from pathlib import Path

import pytest

from trainwell.loop.history import History
from trainwell.run.store import RunSpec, Store
from trainwell.sweep import format_point, run_id


def add_run(store: Store, experiment: str, point: dict, seed: int = 0, *, status: str = "done",
            train_acc: float | None = 0.9, test_acc: float | None = 0.85, steps: int = 120,
            epochs: int = 4, diverged_step: int | None = None, error: str | None = None,
            name: str = "", note: str = "", rate: float = 0.03, layers: list[str] | None = None,
            grad_decay: float = 1.0, verdicts: list[dict] | None = None,
            step_lr: list[float] | None = None) -> str:
    """Register, claim and finish one run; return its id.

    ``layers`` (forward order) adds gradient-flow records every 10 steps: layer ``i`` of ``n``
    has ``‖∂L/∂W‖ = 0.5 * grad_decay ** (n - 1 - i)`` and activation std ``1 / (i + 1)``;
    ``verdicts`` and ``step_lr`` (per-step lr) are stored as a run records them.
    """
    recipe = {"name": name, "note": note, "data": {"name": "mnist1d"},
              "model": {"name": "mlp"}, "train": {"seed": seed, "epochs": epochs},
              "point": point}
    rid = run_id(recipe)
    store.add_runs([RunSpec(rid, experiment, format_point(point), point, seed, recipe)])
    if status == "pending":
        return rid
    store.claim(rid)
    if status in ("running",):
        return rid
    if status == "interrupted":
        store.set_status(rid, "interrupted")
        return rid
    end = diverged_step if status == "diverged" else steps
    h = History(status=status, seconds=12.5 + seed, error=error, diverged_step=diverged_step,
                stop_reason=f"non-finite loss at step {diverged_step}" if status == "diverged"
                else None)
    if status != "failed" or error is None:
        h.step_loss = [2.3 * math.exp(-rate * t) + 0.05 * ((t * 7 + seed) % 5) / 5
                       for t in range(end)]
        if status == "diverged":
            h.step_loss.append(None)
        per_epoch = max(1, steps // epochs)
        for e in range(1, epochs + 1):
            if e * per_epoch > end:
                break
            frac = e / epochs
            h.add_epoch(epoch=e, step=e * per_epoch, train_loss=2.3 * (1 - 0.8 * frac),
                        train_acc=0.1 + frac * ((train_acc or 0.1) - 0.1),
                        val_loss=2.3 * (1 - 0.7 * frac),
                        val_acc=0.1 + frac * ((test_acc or 0.1) - 0.1), lr=0.01)
    if layers:
        n = len(layers)
        records = [{"step": t, "layer": layer, "grad_norm": 0.5 * grad_decay ** (n - 1 - i),
                    "act_std": 1.0 / (i + 1)} for t in range(0, end, 10)
                   for i, layer in enumerate(layers)]
        h.gradient_flow = {"every": 10, "layers": list(layers), "records": records}
    if verdicts is not None:
        h.verdicts = verdicts
    if step_lr is not None:
        h.step_lr = step_lr[:end]
    if status == "done":
        h.set_final(train_loss=0.3, train_acc=train_acc, val_loss=0.4, val_acc=test_acc,
                    test_loss=0.4, test_acc=test_acc)
    store.finish(rid, h)
    return rid


@pytest.fixture(name="add_run")
def add_run_fixture():
    """The :func:`add_run` helper, for tests that build their own store."""
    return add_run


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "exp"


@pytest.fixture
def two_axis_store(folder):
    """init × activation, 2 seeds: he·relu best, zeros never learns, uniform·tanh diverges."""
    store = Store(folder / "results.db")
    store.put_experiment("init-vs-act", axes=["init", "model.activation"],
                         fixed={"data": {"name": "mnist1d"}, "optim": {"name": "sgd", "lr": 0.1}},
                         note="Kumar 2017, table 2")
    accs = {("zeros", "relu"): (0.11, 0.1), ("zeros", "tanh"): (0.1, 0.1),
            ("he_normal", "relu"): (0.95, 0.9), ("he_normal", "tanh"): (0.9, 0.85),
            ("uniform", "relu"): (0.8, 0.75), ("uniform", "tanh"): (0.8, 0.7)}
    ids = []
    for init in ("zeros", "he_normal", "uniform"):
        for act in ("relu", "tanh"):
            point = {"init": {"name": init} if init != "uniform" else
                     {"name": "uniform", "a": -1.0, "b": 1.0}, "model.activation": act}
            for seed in (0, 1):
                train, test = accs[init, act]
                if (init, act) == ("uniform", "tanh"):
                    ids.append(add_run(store, "init-vs-act", point, seed, status="diverged",
                                       diverged_step=40 + 20 * seed, rate=-0.02))
                else:
                    ids.append(add_run(store, "init-vs-act", point, seed, train_acc=train,
                                       test_acc=test + 0.01 * seed,
                                       rate=0.0 if init == "zeros" else 0.03))
    yield store, ids
    store.close()
