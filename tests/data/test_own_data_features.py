"""Every capability on your data: models from the data's shape, augmentation and test-time views,
transfer from one dataset to another, pre-training, diagnosis."""

import numpy as np
import pytest

from trainwell.errors import ConfigError
from trainwell.execute import check_runnable, execute, prepare_data
from trainwell.recipe import Recipe


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    images = rng.normal(size=(300, 1, 8, 8)) + y[:, None, None, None]
    np.savez(root / "images.npz", x=images.astype(np.float32), y=y)
    signals = rng.normal(size=(300, 2, 24)) + y[:, None, None]
    np.savez(root / "signals.npz", x=signals.astype(np.float32), y=y)
    np.savez(root / "table.npz", x=rng.normal(size=(300, 6)) + y[:, None], y=y)
    return root


def _run(raw):
    out = execute(Recipe.from_dict(raw))
    assert out.status == "done", out.history.error
    return out


@pytest.mark.parametrize("kind, model", [("images", "cnn"), ("images", "resnet"),
                                         ("signals", "cnn"), ("table", "mlp"),
                                         ("images", "linear")])
def test_models_take_shape_and_classes_from_the_data(files, kind, model, one_thread):
    out = _run({"data": {"name": "arrays", "path": str(files / f"{kind}.npz")},
                "model": {"name": model}, "train": {"epochs": 1, "record_every": 0}})
    assert out.history.data["num_classes"] == 3
    assert out.weights is not None


def test_augmentation_and_test_views_on_images(files, one_thread):
    out = _run({"data": {"name": "arrays", "path": str(files / "images.npz")},
                "model": {"name": "cnn", "channels": [8]},
                "augment": {"transforms": [{"name": "translate", "pixels": 1}, {"name": "hflip"}],
                            "test_views": 3},
                "train": {"epochs": 1, "record_every": 0}})
    assert "test_acc" in out.history.final


def test_augmentation_on_a_table_is_refused_with_a_reason(files):
    r = Recipe.from_dict({"data": {"name": "arrays", "path": str(files / "table.npz")},
                          "augment": {"transforms": [{"name": "noise"}]}})
    with pytest.raises(ConfigError, match=r"augment\.transforms = 'noise'.*shaped \(6,\)"):
        check_runnable(r, prepare_data(r, "cpu"))


def test_transfer_from_a_builtin_dataset_to_your_arrays(files, one_thread):
    source = {"data": {"name": "digits"}, "model": {"name": "cnn", "channels": [8]},
              "train": {"epochs": 1, "record_every": 0}}
    out = _run({"data": {"name": "arrays", "path": str(files / "images.npz")},
                "model": {"name": "cnn", "channels": [8]},
                "transfer": {"from": source, "head": "new", "freeze": "features"},
                "train": {"epochs": 1, "record_every": 0}})
    assert out.history.transfer


@pytest.mark.parametrize("scheme", ["dbn", "autoencoder"])
def test_pretraining_on_your_table(files, scheme, one_thread):
    out = _run({"data": {"name": "arrays", "path": str(files / "table.npz"), "normalize": "unit"},
                "model": {"name": "mlp", "depth": 2, "width": 16},
                "init": {"name": scheme, "epochs": 1},
                "train": {"epochs": 1, "record_every": 0}})
    assert out.history.init["name"] == scheme
