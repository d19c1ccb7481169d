"""Early stopping: when it stops, which weights it keeps, and what it refuses."""

import pytest
import torch
from torch import nn

from trainwell.data.dataset import Dataset, DatasetMeta
from trainwell.errors import ConfigError
from trainwell.loop import History, StopTraining, TrainState, fit
from trainwell.regularize import EarlyStopping

pytestmark = pytest.mark.usefixtures("one_thread")


def _fake_training(callback, values, *, metric="val_loss"):
    """Epoch e sets every weight to e and records ``values[e - 1]`` (``...``: not recorded).
    Returns the state and the epoch at which training stopped (None: it ran to the end)."""
    model = nn.Linear(2, 2)
    state = TrainState(model=model, optimizer=None, dataset=None, history=History(),
                       epochs=len(values), steps_per_epoch=1)
    callback.before_fit(state)
    stopped = None
    try:
        for e, value in enumerate(values, start=1):
            state.epoch = e - 1
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float(e))
            extra = {} if value is ... else {metric: value}
            state.history.add_epoch(epoch=e, train_loss=1.0, **extra)
            callback.after_epoch(state)
    except StopTraining as stop:
        stopped = e
        assert stop.status == "done"
    finally:
        callback.after_fit(state)
    return state, stopped


@pytest.mark.parametrize("patience", [1, 2, 4])
def test_it_stops_patience_epochs_after_the_best_and_restores_its_weights(patience):
    values = [1.0, 0.8, 0.5] + [0.6 + 0.1 * i for i in range(10)]  # rises after epoch 3
    state, stopped = _fake_training(EarlyStopping(patience=patience), values)
    assert stopped == 3 + patience
    assert (state.model.weight == 3.0).all() and (state.model.bias == 3.0).all()
    assert state.history.early_stopping == {"best_epoch": 3, "best": 0.5,
                                                     "stopped_epoch": 3 + patience}


def test_a_run_to_the_end_still_gets_its_best_weights_back():
    state, stopped = _fake_training(EarlyStopping(patience=10), [0.9, 0.4, 0.7, 0.8])
    assert stopped is None
    assert (state.model.weight == 2.0).all()
    assert state.history.early_stopping["stopped_epoch"] is None


def test_epochs_without_the_metric_are_skipped():
    # None: an empty or non-finite split; ...: validation not evaluated that epoch
    values = [1.0, None, ..., 0.9, ..., 0.95, None, 0.99, ..., 0.98]
    state, stopped = _fake_training(EarlyStopping(patience=3), values)
    assert stopped == 10  # only epochs 6, 8 and 10 count as "no improvement"
    assert state.history.early_stopping["best_epoch"] == 4


def test_auto_mode_maximizes_accuracies_and_min_delta_ignores_small_gains():
    state, stopped = _fake_training(EarlyStopping("val_acc", patience=2),
                                    [0.5, 0.7, 0.6, 0.65], metric="val_acc")
    assert stopped == 4 and (state.model.weight == 2.0).all()
    state, stopped = _fake_training(EarlyStopping(patience=2, min_delta=0.01),
                                    [1.0, 0.995, 0.991, 0.5], metric="val_loss")
    assert stopped == 3 and (state.model.weight == 1.0).all()
    assert EarlyStopping("train_loss", mode="max").mode == "max"


def _data(n=64, d=4, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, 0] > 0).long()
    meta = DatasetMeta(name="toy", input_shape=(d,), num_classes=k, source="test")
    return Dataset(x, y, x[:16], y[:16], x[:0], y[:0], meta=meta)


class _FakeValidation:
    """Overwrites each epoch's val_loss with a curve that rises after epoch 3, and keeps the
    weights every epoch ended with."""

    order = 0
    curve = [1.0, 0.8, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]

    def __init__(self):
        self.weights = {}

    def after_epoch(self, state):
        epoch = state.history.epochs[-1]
        epoch["val_loss"] = self.curve[epoch["epoch"] - 1]
        self.weights[epoch["epoch"]] = state.model.weight.detach().clone()


def test_with_the_trainer_it_stops_and_leaves_the_epoch_3_weights():
    torch.manual_seed(0)
    model, fake = nn.Linear(4, 2), _FakeValidation()
    h = fit(model, _data(), torch.optim.SGD(model.parameters(), lr=0.5), epochs=10, batch_size=16,
            callbacks=[EarlyStopping(patience=2), fake], generator=torch.Generator().manual_seed(0))
    assert h.status == "done" and "early stopping" in h.stop_reason
    assert len(h.epochs) == 5
    assert not torch.equal(fake.weights[3], fake.weights[5])  # training moved the weights
    assert torch.equal(model.weight, fake.weights[3])
    assert h.early_stopping == {"best_epoch": 3, "best": 0.5, "stopped_epoch": 5}


@pytest.mark.parametrize("metric", ["val_los", "trian_loss", "accuracy"])
def test_a_metric_the_history_does_not_have_is_a_config_error(metric):
    model = nn.Linear(4, 2)
    with pytest.raises(ConfigError, match="train.early_stopping.metric") as err:
        fit(model, _data(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=16,
            callbacks=[EarlyStopping(metric)])
    assert "val_loss" in str(err.value) and "train_loss" in str(err.value)


def test_validation_metrics_wait_for_an_evaluation_epoch():
    model = nn.Linear(4, 2)
    h = fit(model, _data(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=4, batch_size=16,
            callbacks=[EarlyStopping("val_acc", patience=5)], eval_every=2)
    assert [("val_acc" in e) for e in h.epochs] == [False, True, False, True]
    assert h.early_stopping["best_epoch"] in (2, 4)


@pytest.mark.parametrize("kw, key", [({"patience": 0}, "patience"), ({"mode": "best"}, "mode"),
                                     ({"min_delta": -0.1}, "min_delta"), ({"metric": ""}, "metric")])
def test_bad_options_raise_config_errors_naming_the_key(kw, key):
    with pytest.raises(ConfigError, match=f"train.early_stopping.{key}"):
        EarlyStopping(**kw)
