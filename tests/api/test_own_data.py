"""tw.train and tw.compare on data from Python: arrays, tensors, Datasets and DataFrames."""

import numpy as np
import pandas as pd
import pytest
import torch

import trainwell as tw
from trainwell.errors import ConfigError
from trainwell.sweep import run_id


def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return (rng.normal(size=(n, 5)) + 2.5 * y[:, None]).astype(np.float32), y


def test_train_on_arrays_learns_and_the_run_id_follows_the_data(one_thread):
    x, y = _blobs()
    run = tw.train(data=(x, y), train__epochs=3, quiet=True)
    assert run.status == "done" and run.outcome.history.final["test_acc"] > 0.9
    data = run.outcome.recipe.data
    assert data.name == "arrays" and data.options["path"].endswith(f"{data.options['digest']}.npz")
    same = tw.train(data=(x.copy(), y.copy()), train__epochs=1, quiet=True).outcome.recipe
    other = tw.train(data=(x + 1, y), train__epochs=1, quiet=True).outcome.recipe
    assert same.data == data
    assert run_id(other.to_dict()) != run_id(same.to_dict())
    assert other.data.options["digest"] != data.options["digest"]


def test_splits_of_tensors_and_datasets_keep_the_recipes_shared_options(one_thread):
    x, y = _blobs()
    train_set = torch.utils.data.TensorDataset(torch.from_numpy(x[:150]), torch.from_numpy(y[:150]))
    run = tw.train({"data": {"name": "digits", "val_fraction": 0.2}, "train": {"epochs": 1}},
                   data={"train": train_set, "test": (torch.from_numpy(x[150:]), y[150:])},
                   quiet=True)
    assert run.status == "done"
    options = run.outcome.recipe.data.options
    assert options["val_fraction"] == 0.2
    assert len(run.outcome.history.final) > 0


def test_a_dataframe_with_its_target(one_thread):
    x, y = _blobs()
    frame = pd.DataFrame(x, columns=list("abcde")).assign(kind=np.where(y, "big", "small"))
    run = tw.train(data=frame, target="kind", train__epochs=2, quiet=True)
    assert run.status == "done" and run.outcome.recipe.data.name == "table"
    with pytest.raises(ConfigError, match=r"target = 'knid'.*a column of the DataFrame"):
        tw.train(data=frame, target="knid", quiet=True)
    with pytest.raises(ConfigError, match=r"target = None"):
        tw.train(data=frame, quiet=True)


def test_compare_on_arrays_and_data_names_stay_an_axis(tmp_path):
    x, y = _blobs()
    res = tw.compare({"sweep": {"seeds": 1}, "train": {"epochs": 2}},
                     init=["he_normal", "zeros"], data=(x, y), root=tmp_path, name="mine",
                     workers=1, quiet=True)
    runs = res.store.runs("mine")
    assert len(runs) == 2 and {r.recipe["data"]["name"] for r in runs} == {"arrays"}
    assert all(r.status == "done" for r in runs)
    sweep = tw.api.build_sweep({"train": {"epochs": 1}}, data=["digits", "mnist1d"])
    assert [a.key for a in sweep.axes] == ["data.name"]
