import dataclasses
import json

import pytest
import torch

from trainwell.callback_order import ORDER
from trainwell.data import load_dataset
from trainwell.data.augment import Augment
from trainwell.diagnose import GradientFlowRecorder, flow_rows
from trainwell.ensemble.averaging import WeightAverage
from trainwell.ensemble.snapshots import Snapshots
from trainwell.loop import History, ProgressBar, TensorBoardLogger, fit, load_history
from trainwell.loop.metrics import EPOCH, LR, SECONDS, STEP, TRAIN_ACC, TRAIN_LOSS, split_metric
from trainwell.models import build_model
from trainwell.optim.schedules import LRSchedule
from trainwell.regularize import EarlyStopping, Penalty
from trainwell.run.store import metric_rows
from trainwell.transfer.freeze import Freeze

OLD_HISTORY = {
    "status": "done", "step_loss": [2.0, 1.0], "diverged_step": None, "stop_reason": None,
    "epochs": [{"epoch": 1, "step": 2, "train_loss": 1.5, "lr": 0.05}], "seconds": 1.0,
    "final": {"test_acc": 0.5}, "error": None,
    "extra": {"lr": [0.1, 0.05], "verdicts": [{"kind": "healthy", "message": "", "fix": ""}],
              "gradient_flow": {"every": 1, "layers": ["fc"], "records": [
                  {"step": 0, "layer": "fc", "grad_norm": 0.5, "act_std": 1.0}]},
              "resumed_from": 1, "traceback": "Traceback ...", "init": {"name": "lsuv"},
              "a_key_from_elsewhere": 3},
}


def test_a_history_json_written_with_extra_still_loads_into_the_fields(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps(OLD_HISTORY))
    h = load_history(tmp_path / "history.json")
    assert h.step_lr == [0.1, 0.05] and h.resumed_from == 1 and h.init == {"name": "lsuv"}
    assert h.verdicts[0]["kind"] == "healthy" and h.traceback == "Traceback ..."
    assert not hasattr(h, "extra") and "extra" not in h.to_dict()
    assert History.from_dict(h.to_dict()) == h
    rows = {(step, name): v for _, step, name, v in metric_rows("r", h)}
    assert rows[(1, "step_lr")] == 0.05 and rows[(0, "grad_norm/fc")] == 0.5
    assert rows[(0, "act_std/fc")] == 1.0 and rows[(2, "train_loss")] == 1.5


def test_the_gradient_flow_layout_is_decoded_by_the_recorder_s_module_only():
    h = History(step_loss=[1.0], gradient_flow=OLD_HISTORY["extra"]["gradient_flow"])
    assert h.metric_rows() == [(0, "loss", 1.0)]
    assert flow_rows(h.gradient_flow) == [(0, "grad_norm/fc", 0.5), (0, "act_std/fc", 1.0)]
    assert flow_rows(None) == []


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _model(ds):
    torch.manual_seed(0)
    return build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=1, width=16)


class _LrUsed:
    """The lr of the first group when the optimizer steps (after every lr-setting callback)."""

    order = ORDER["average"] + 1

    def __init__(self):
        self.seen = []

    def before_step(self, state):
        self.seen.append(float(state.optimizer.param_groups[0]["lr"]))


def test_step_lr_is_the_lr_each_step_used_even_when_swa_replaces_the_schedule_s(digits):
    model = _model(digits)
    used = _LrUsed()
    average = WeightAverage("swa", start=1, swa_lr=0.01, anneal_epochs=1)
    h = fit(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
            batch_size=256, callbacks=[LRSchedule("cosine"), average, used],
            generator=torch.Generator().manual_seed(0))
    assert h.step_lr == pytest.approx(used.seen) and len(h.step_lr) == len(h.step_loss)
    assert h.step_lr[-1] == pytest.approx(0.01)  # SWA's lr, not the cosine's


def test_weight_averaging_alone_records_no_step_lr(digits):
    model = _model(digits)
    h = fit(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
            batch_size=256, callbacks=[WeightAverage("swa", start=0, swa_lr=0.01)],
            generator=torch.Generator().manual_seed(0))
    assert h.step_lr == [] and h.status == "done"


def test_every_built_in_callback_takes_its_order_from_the_one_table(tmp_path):
    pytest.importorskip("tensorboardX")
    callbacks = {"augment": Augment([{"name": "noise"}]), "schedule": LRSchedule("cosine"),
                 "snapshots": Snapshots(2), "average": WeightAverage("ema"),
                 "penalty": Penalty(l2=0.1), "gradient_flow": GradientFlowRecorder(),
                 "tensorboard": TensorBoardLogger(tmp_path), "progress_bar": ProgressBar(),
                 "early_stopping": EarlyStopping("val_loss")}
    assert {role: cb.order for role, cb in callbacks.items()} == {
        role: ORDER[role] for role in callbacks}
    assert Freeze.order == ORDER["unfreeze"]
    assert ORDER["schedule"] < ORDER["average"]  # an SWA lr overrides the schedule's


def test_an_epoch_s_record_uses_the_metric_names(digits):
    model = _model(digits)
    h = fit(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
            batch_size=256, generator=torch.Generator().manual_seed(0))
    splits = {split_metric(s, m) for s in ("val", "test") for m in ("loss", "acc")}
    assert set(h.epochs[0]) == {EPOCH, STEP, TRAIN_LOSS, TRAIN_ACC, LR, SECONDS} | splits
    assert set(h.final) == {split_metric(s, m) for s in ("train", "val", "test")
                            for m in ("loss", "acc")}


def test_each_typed_field_survives_json():
    fields = {f.name for f in dataclasses.fields(History)}
    assert {"step_lr", "gradient_flow", "verdicts", "snapshots", "average", "unfrozen",
            "early_stopping", "resumed_from", "phase", "traceback"} <= fields
    h = History(status="done", snapshots={"cycles": 2, "steps": [3, 7], "cycle_steps": 4},
                unfrozen={"features.0": 2}, phase=None)
    assert History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
