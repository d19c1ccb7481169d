"""An image folder kept out of memory (``data.in_memory``): memory-mapped uint8 rows decoded
per batch give the very inputs, splits and training of the folder held in memory."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from trainwell.data import load_dataset
from trainwell.data import stored as stored_module
from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.recipe import Recipe


@pytest.fixture(scope="module")
def pics(tmp_path_factory):
    root = tmp_path_factory.mktemp("stored") / "pics"
    rng = np.random.default_rng(0)
    for i, c in enumerate(("circle", "cross", "dot")):
        os.makedirs(root / c)
        for j in range(30):
            pixels = np.clip(50 + 60 * i + rng.integers(-15, 16, (8, 8)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8), "L").save(root / c / f"{j}.png")
    return root


def _options(pics, **kw):
    return {"path": str(pics), "cache_dir": str(pics.parent / "cache"), **kw}


@pytest.mark.parametrize("normalize", ["standardize", "unit", "none"])
def test_stored_rows_decode_to_the_in_memory_inputs(pics, normalize):
    held = load_dataset("images", **_options(pics, normalize=normalize, in_memory=True,
                                              labels_fraction=0.5))
    kept = load_dataset("images", **_options(pics, normalize=normalize, in_memory=False,
                                              labels_fraction=0.5))
    assert held.stored is None and kept.stored is not None
    assert kept.x_train.dtype == torch.uint8 and held.x_train.dtype == torch.float32
    for split in ("train", "val", "test", "unlabeled"):
        assert torch.equal(kept.decode(getattr(kept, f"x_{split}")), getattr(held, f"x_{split}"))
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(kept, f"y_{split}"), getattr(held, f"y_{split}"))
    assert (kept.meta.mean, kept.meta.std) == (held.meta.mean, held.meta.std)
    assert kept.meta.class_names == ("circle", "cross", "dot")
    assert torch.equal(kept.in_memory().x_test, held.x_test)
    assert kept.in_memory().stored is None


def test_the_splits_are_those_of_the_pixels_split_directly(pics):
    """Splits made on row numbers pick what splitting the pixels themselves picks."""
    from trainwell.data.images import load_image_folder
    from trainwell.data.splits import from_splits

    _, pixels, record, _ = load_image_folder(str(pics), cache_dir=str(pics.parent / "cache"))
    labels = np.asarray(record["labels"])
    direct = from_splits({"train": (np.asarray(pixels), labels)}, name="images", source="",
                         options={}, key="data.path", value="", val_fraction=0.1,
                         test_fraction=0.2, labels_fraction=1.0, split_seed=3,
                         normalize="unit", unit_range=(0.0, 255.0))
    ours = load_dataset("images", **_options(pics, normalize="unit", split_seed=3))
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(ours, f"x_{split}"), getattr(direct, f"x_{split}"))
        assert torch.equal(getattr(ours, f"y_{split}"), getattr(direct, f"y_{split}"))


def test_auto_keeps_a_folder_out_of_memory_when_it_does_not_fit(pics, monkeypatch):
    assert load_dataset("images", **_options(pics)).stored is None
    monkeypatch.setattr(stored_module, "available_memory", lambda: 10_000)  # 3 x 90 x 64 x 4 B
    assert load_dataset("images", **_options(pics)).stored is not None


@pytest.mark.parametrize("extra", [{}, {"augment": {"transforms": [{"name": "translate",
                                                                      "pixels": 1}],
                                                    "test_views": 3},
                                        "average": {"kind": "swa", "start": 4, "update_bn": True}}],
                         ids=["plain", "augmented-averaged"])
def test_a_stored_folder_trains_as_the_same_folder_in_memory(pics, extra, one_thread):
    def run(in_memory):
        raw = {"data": {"name": "images", **_options(pics, in_memory=in_memory)},
               "model": {"name": "cnn", "channels": [4]}, "optim": {"name": "adam", "lr": 0.03},
               "train": {"epochs": 8, "batch_size": 16, "record_every": 0}, **extra}
        out = execute(Recipe.from_dict(raw))
        assert out.status == "done", out.history.error
        return out

    held, kept = run(True), run(False)
    assert held.history.step_loss == kept.history.step_loss
    assert held.history.final == kept.history.final
    assert held.history.final["train_acc"] > 0.5


def test_in_memory_takes_true_false_or_auto(pics):
    with pytest.raises(ConfigError, match=r'data.in_memory = .yes.: expected true, false or "auto"'):
        load_dataset("images", **_options(pics, in_memory="yes"))


def test_data_command_says_a_folder_is_kept_out_of_memory(pics):
    from trainwell.data.describe import describe

    held = describe({"name": "images", **_options(pics, in_memory=True)})[1]
    kept = describe({"name": "images", **_options(pics, in_memory=False)})[1]
    assert held[2] == kept[2] and "float32" in kept[2]  # same dtype and value range
    assert any(line.startswith("memory: kept out of memory") for line in kept)
    assert not any(line.startswith("memory:") for line in held)


def test_a_cache_folder_it_cannot_write_is_named_when_splits_must_be_written(pics,
                                                                             monkeypatch):
    def refuse(path, shape):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(stored_module, "new_cache", refuse)
    with pytest.raises(ConfigError, match=r"data.cache_dir = .*: expected a folder trainwell "
                                          r"can write.*Permission denied"):
        load_dataset("images", **_options(pics, in_memory=False, split_seed=7))


def test_in_memory_at_its_default_leaves_the_recipe_and_its_run_id_as_they_were(pics):
    from trainwell.recipe import Recipe
    from trainwell.sweep import run_id

    plain = Recipe.from_dict({"data": {"name": "images", "path": str(pics)}}).to_dict()
    auto = Recipe.from_dict({"data": {"name": "images", "path": str(pics),
                                      "in_memory": "auto"}}).to_dict()
    forced = Recipe.from_dict({"data": {"name": "images", "path": str(pics),
                                        "in_memory": False}}).to_dict()
    assert "in_memory" not in plain["data"] and run_id(plain) == run_id(auto)
    assert forced["data"]["in_memory"] is False and run_id(forced) != run_id(plain)
