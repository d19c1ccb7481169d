"""The order of the training batches: a new random order every epoch, or (``shuffle=False``,
``[train] shuffle = false``) the stored order every epoch, in memory and for stored inputs."""

import pytest
import torch
from loop_interrupt import Interrupt

from trainwell.data.dataset import Dataset, DatasetMeta, Stored
from trainwell.execute import RunContext, execute, prepare_data
from trainwell.loop import Checkpoints, fit, latest_checkpoint
from trainwell.recipe import Recipe
from trainwell.sweep import run_id

N, BATCH, EPOCHS = 10, 4, 3


class Rows:
    """Records the rows of every training batch (each sample's input is its row number)."""

    def __init__(self):
        self.batches = []

    def before_step(self, state):
        self.batches.append(state.xb.flatten().round().long().tolist())


def _numbered(*, stored: bool) -> Dataset:
    """Ten samples whose single input is the row number (as stored uint8 rows, or float32)."""
    rows = torch.arange(N).reshape(N, 1, 1)
    x = rows.to(torch.uint8) if stored else rows.float()
    y = torch.arange(N) % 2
    meta = DatasetMeta("numbered", (1, 1), 2)
    return Dataset(x, y, x[:0], y[:0], x[:0], y[:0], meta, stored=Stored() if stored else None)


def _fit(ds, *, shuffle, generator=None, callbacks=(), **kw):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1, 2))
    return model, fit(model, ds, torch.optim.SGD(model.parameters(), lr=0.1), epochs=EPOCHS,
                      batch_size=BATCH, shuffle=shuffle, callbacks=callbacks,
                      generator=generator if generator is not None
                      else torch.Generator().manual_seed(3), **kw)


@pytest.mark.parametrize("stored", [False, True], ids=["in memory", "stored"])
def test_in_order_every_epoch_takes_the_stored_rows_in_turn(stored):
    rows = Rows()
    _fit(_numbered(stored=stored), shuffle=False, callbacks=[rows])
    assert rows.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] * EPOCHS


@pytest.mark.parametrize("stored", [False, True], ids=["in memory", "stored"])
def test_shuffled_epochs_are_new_permutations_of_the_rows(stored):
    rows = Rows()
    _fit(_numbered(stored=stored), shuffle=True, callbacks=[rows])
    epochs = [sum(rows.batches[i:i + 3], []) for i in range(0, len(rows.batches), 3)]
    assert all(sorted(e) == list(range(N)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == EPOCHS  # a new order each epoch, none stored


def test_in_order_draws_nothing_from_the_shuffling_generator():
    generator = torch.Generator().manual_seed(3)
    before = generator.get_state()
    _fit(_numbered(stored=False), shuffle=False, generator=generator)
    assert torch.equal(generator.get_state(), before)
    _fit(_numbered(stored=False), shuffle=True, generator=generator)
    assert not torch.equal(generator.get_state(), before)


def test_an_in_order_run_resumes_bit_identically(tmp_path):
    ds = _numbered(stored=False)
    whole_model, whole = _fit(ds, shuffle=False)
    with pytest.raises(KeyboardInterrupt):
        _fit(ds, shuffle=False, callbacks=[Interrupt(2)], checkpoints=Checkpoints(tmp_path))
    found = latest_checkpoint(tmp_path)
    assert found is not None and found.epoch == 1
    model, resumed = _fit(ds, shuffle=False, checkpoints=Checkpoints(tmp_path), resume=found)
    assert resumed.step_loss == whole.step_loss
    assert all(torch.equal(a, b) for a, b in zip(whole_model.state_dict().values(),
                                                 model.state_dict().values(), strict=True))


RECIPE = {"data": {"name": "digits"}, "model": {"name": "linear"},
          "train": {"epochs": 1, "batch_size": 500, "threads": 1, "eval_every": 0,
                    "record_every": 0}}


def test_train_shuffle_is_left_out_of_the_recipe_at_its_default():
    default = Recipe.from_dict(RECIPE)
    shuffled = Recipe.from_dict({**RECIPE, "train": {**RECIPE["train"], "shuffle": True}})
    in_order = Recipe.from_dict({**RECIPE, "train": {**RECIPE["train"], "shuffle": False}})
    assert "shuffle" not in shuffled.to_dict()["train"]
    assert run_id(shuffled.to_dict()) == run_id(default.to_dict())
    assert in_order.to_dict()["train"]["shuffle"] is False
    assert run_id(in_order.to_dict()) != run_id(default.to_dict())
    assert Recipe.from_dict(in_order.to_dict()) == in_order


def test_a_recipe_with_shuffle_false_trains_on_the_stored_order():
    recipe = Recipe.from_dict({**RECIPE, "train": {**RECIPE["train"], "shuffle": False}})
    ds = prepare_data(recipe, torch.device("cpu"))
    seen = []

    class Inputs:
        def before_step(self, state):
            seen.append(state.xb.clone())

    out = execute(recipe, RunContext(dataset=ds, callbacks=[Inputs()]))
    assert out.status == "done" and len(seen) == 3
    assert torch.equal(torch.cat(seen), ds.x_train)
