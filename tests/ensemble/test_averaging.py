"""Weight averaging: EMA's closed form, SWA's equal average, batch-norm statistics, options."""

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.ensemble import WeightAverage, average_options
from trainwell.errors import ConfigError
from trainwell.loop import History, fit
from trainwell.loop.events import TrainState
from trainwell.models import build_model
from trainwell.recipe import Recipe


def _state(model, epoch=0, step=0):
    state = TrainState(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                       dataset=None, history=History(), epochs=10, steps_per_epoch=1)
    state.epoch, state.step = epoch, step
    return state


def _feed(avg, model, values, *, every="step"):
    """Set the model's weight to each value in turn and let the callback see it."""
    state = _state(model)
    avg.before_fit(state)
    for i, v in enumerate(values):
        with torch.no_grad():
            model.weight.fill_(v)
            model.bias.fill_(-v)
        state.epoch = state.step = i
        avg.after_step(state) if every == "step" else avg.after_epoch(state)
    return avg


def test_ema_matches_its_closed_form():
    decay, ws = 0.9, [1.0, 3.0, -2.0, 5.0, 0.5]
    model = torch.nn.Linear(2, 1)
    avg = _feed(WeightAverage("ema", decay=decay), model, ws)
    # a_1 = w_1; a_n = decay^(n-1) w_1 + sum_{k=2..n} (1 - decay) decay^(n-k) w_k
    n = len(ws)
    closed = decay ** (n - 1) * ws[0] + sum((1 - decay) * decay ** (n - k) * ws[k - 1]
                                            for k in range(2, n + 1))
    averaged = avg.averaged(model, torch.zeros(4, 2))
    assert averaged.weight.detach().flatten().tolist() == pytest.approx([closed] * 2, rel=1e-6)
    assert averaged.bias.item() == pytest.approx(-closed, rel=1e-6)
    assert avg.updates == n


def test_swa_is_the_equal_average_of_the_iterates_it_saw():
    ws = [1.0, 3.0, -2.0, 5.0, 0.5, 7.0]
    model = torch.nn.Linear(2, 1)
    avg = _feed(WeightAverage("swa", start=2, every="epoch"), model, ws, every="epoch")
    seen = ws[2:]
    averaged = avg.averaged(model, torch.zeros(4, 2))
    assert avg.updates == len(seen)
    assert averaged.weight.detach().flatten().tolist() == pytest.approx([sum(seen) / len(seen)] * 2)


def test_polyak_averages_every_step_from_start():
    ws = [2.0, 4.0, 6.0, 8.0]
    model = torch.nn.Linear(2, 1)
    avg = _feed(WeightAverage("polyak", start=1), model, ws)
    assert avg.averaged(model, torch.zeros(1, 2)).weight[0, 0].item() == pytest.approx(6.0)


def test_update_bn_recomputes_the_averaged_models_statistics_and_not_the_raw_ones():
    torch.manual_seed(0)
    ds = load_dataset("digits")
    model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2,
                        width=32, batch_norm=True)
    avg = WeightAverage("swa", start=0, every="epoch", update_bn=True)
    fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=64,
        callbacks=[avg], generator=torch.Generator().manual_seed(0))
    raw_bn = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    assert raw_bn
    averaged = avg.averaged(model, ds.x_train)
    after_raw = {k: v for k, v in model.state_dict().items() if "running" in k}
    for k, v in raw_bn.items():
        assert torch.equal(after_raw[k], v), f"the raw model's {k} moved"
    mine = {k: v for k, v in averaged.state_dict().items() if "running" in k}
    changed = [k for k in raw_bn if not torch.allclose(mine[k], raw_bn[k])]
    assert changed, "update_bn left the averaged model with the raw model's statistics"
    # the recomputed means are those of the averaged network's own activations
    first_bn = next(m for m in averaged.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert first_bn.num_batches_tracked.item() > 0


def test_swa_lr_anneals_to_its_own_lr_after_start():
    model = torch.nn.Linear(2, 1)
    avg = WeightAverage("swa", start=2, every="epoch", swa_lr=0.01, anneal_epochs=2)
    state = _state(model)
    avg.before_fit(state)
    lrs = []
    for epoch in range(6):
        state.epoch = state.step = epoch
        avg.before_step(state)
        lrs.append(state.optimizer.param_groups[0]["lr"])
    assert lrs[:3] == [0.1, 0.1, 0.1]
    assert 0.01 < lrs[3] < 0.1
    assert lrs[4:] == pytest.approx([0.01, 0.01])


@pytest.mark.parametrize(("table", "key"), [
    ({"kind": "ema", "decay": 1.0}, "average.decay"),
    ({"kind": "ema", "decay": 0.0}, "average.decay"),
    ({"kind": "swa", "decay": 0.9}, "average.decay"),
    ({"kind": "polyak", "swa_lr": 0.1}, "average.swa_lr"),
    ({"kind": "swa", "start": 5}, "average.start"),
    ({"kind": "bagging"}, "average.kind"),
    ({"decay": 0.9}, "average.decay"),
    ({"kind": "swa", "anneal_epochs": 3}, "average.anneal_epochs"),
])
def test_bad_average_options_name_their_key(table, key):
    with pytest.raises(ConfigError) as err:
        Recipe.from_dict({"average": table, "train": {"epochs": 5}})
    assert err.value.key == key


def test_each_kind_gets_its_defaults():
    assert average_options({"kind": "ema"}, 8) == {"kind": "ema", "decay": 0.999, "start": 0,
                                                   "every": "step", "update_bn": False}
    assert average_options({"kind": "swa"}, 8)["start"] == 6
    assert average_options({"kind": "polyak"}, 8)["update_bn"] is True


def test_a_run_with_averaging_reports_both_models_and_keeps_both_weights(tmp_path):
    from trainwell.ensemble import load_predictions
    from trainwell.ensemble.evaluate import accuracy
    from trainwell.execute import execute
    from trainwell.loop import save_run

    r = Recipe.from_dict({"data": {"name": "digits"},
                          "model": {"name": "mlp", "depth": 1, "width": 32, "batch_norm": True},
                          "average": {"kind": "polyak", "start": 1},
                          "train": {"epochs": 3, "threads": 1, "record_every": 0}})
    out = execute(r)
    final = out.history.final
    assert {"test_acc", "test_acc_raw", "train_acc_raw", "val_acc_raw"} <= set(final)
    averaged = out.artifacts["averaged"]
    assert set(averaged) == set(out.weights)
    assert any(not torch.equal(averaged[k], out.weights[k]) for k in averaged)
    save_run(tmp_path, recipe_toml=r.to_toml(), history=out.history, weights=out.weights,
             artifacts=out.artifacts)
    assert (tmp_path / "averaged.safetensors").is_file()
    preds = load_predictions(tmp_path)
    y = preds.targets("test")
    assert accuracy(preds.probs("test"), y) == pytest.approx(final["test_acc"])
    assert accuracy(preds.probs("test", "raw"), y) == pytest.approx(final["test_acc_raw"])
    steps_per_epoch = out.history.epochs[0]["step"]
    assert out.history.average == {"kind": "polyak", "updates": 2 * steps_per_epoch}
