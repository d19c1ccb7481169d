"""Data factories: [data] name = "module:function" returning arrays, splits or Datasets."""

import textwrap

import pytest
import torch

from trainwell.data import load_dataset
from trainwell.errors import ConfigError
from trainwell.recipe import Recipe

SOURCE = textwrap.dedent('''
    import numpy as np
    import torch

    def blobs(n=90, shift=3.0):
        y = np.arange(n) % 3
        x = np.random.default_rng(0).normal(size=(n, 2)) + shift * y[:, None]
        return x, y

    def splits():
        x, y = blobs()
        return {"train": (torch.tensor(x[:60]), torch.tensor(y[:60])),
                "test": (torch.tensor(x[60:]), torch.tensor(y[60:]))}

    class Pairs(torch.utils.data.Dataset):
        def __init__(self, n, bad=False):
            self.n, self.bad = n, bad
        def __len__(self):
            return self.n
        def __getitem__(self, i):
            x = [float(i)] if self.bad else torch.full((1, 4), float(i % 2))
            return x, i % 2

    def datasets():
        return {"train": Pairs(40), "test": Pairs(10)}

    def bad_samples():
        return Pairs(10, bad=True)
''')


@pytest.fixture
def factory_module(importable):
    return importable("tw_data_factories", SOURCE)


def test_arrays_from_a_function_with_its_own_options(factory_module):
    ds = load_dataset(f"{factory_module}:blobs", n=120, test_fraction=0.25)
    assert ds.meta.num_classes == 3 and len(ds.x_test) == 30
    assert ds.meta.options["n"] == 120


def test_splits_and_datasets(factory_module):
    ds = load_dataset(f"{factory_module}:splits", val_fraction=0.0)
    assert (len(ds.x_train), len(ds.x_test)) == (60, 30)
    ds = load_dataset(f"{factory_module}:datasets", normalize="none")
    assert ds.meta.input_shape == (1, 4) and len(ds.x_test) == 10
    assert torch.equal(ds.x_train[:, 0, 0], ds.y_train.float())


def test_samples_that_are_not_tensors(factory_module):
    with pytest.raises(ConfigError, match=r"inputs are tensors; sample 0's input is a builtins\.list"):
        load_dataset(f"{factory_module}:bad_samples")


def test_unknown_option_lists_both_kinds(factory_module):
    with pytest.raises(ConfigError, match=r"data\.shfit = 1.*allowed: .*shift.*did you mean 'shift'"):
        Recipe.from_dict({"data": {"name": f"{factory_module}:blobs", "shfit": 1}})
    r = Recipe.from_dict({"data": {"name": f"{factory_module}:blobs", "shift": 1.0}})
    assert r.data.options["shift"] == 1.0 and r.data.options["val_fraction"] == 0.1


def test_missing_module_is_named():
    with pytest.raises(ConfigError, match=r"data\.name = 'tw_nowhere:f'.*no module named"):
        load_dataset("tw_nowhere:f")
