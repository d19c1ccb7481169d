"""Your arrays: .npz, .npy files and .safetensors, with integer or string labels, every layout."""

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from trainwell.data import load_dataset
from trainwell.errors import ConfigError


def _blobs(n=120, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.normal(size=(n, d)) + 3.0 * y[:, None]
    return x.astype(np.float32), y


def test_npz_with_x_and_y_is_split_three_ways(tmp_path):
    x, y = _blobs()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset("arrays", path=str(tmp_path / "d.npz"), test_fraction=0.25,
                      val_fraction=0.1)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (81, 9, 30)
    assert ds.meta.input_shape == (4,) and ds.meta.num_classes == 3
    # stratified: every split has each class in its share
    assert torch.bincount(ds.y_test).tolist() == [10, 10, 10]
    # standardized by the training split's statistics
    assert abs(float(ds.x_train.mean())) < 1e-5 and abs(float(ds.x_train.std()) - 1) < 1e-2


def test_given_splits_are_kept(tmp_path):
    x, y = _blobs()
    np.savez(tmp_path / "d.npz", x_train=x[:80], y_train=y[:80], x_val=x[80:100],
             y_val=y[80:100], x_test=x[100:], y_test=y[100:])
    ds = load_dataset("arrays", path=str(tmp_path / "d.npz"), normalize="none")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (80, 20, 20)
    assert torch.equal(ds.x_test, torch.from_numpy(x[100:]))
    assert torch.equal(ds.y_val, torch.from_numpy(y[80:100]).long())


def test_string_labels_are_classes_in_sorted_order(tmp_path):
    x, y = _blobs(k=3)
    names = np.array(["zebra", "ant", "moth"])[y]
    np.savez(tmp_path / "d.npz", x=x, y=names)
    ds = load_dataset("arrays", path=str(tmp_path / "d.npz"), normalize="none")
    assert ds.meta.class_names == ("ant", "moth", "zebra")
    # each input keeps its own class: zebra samples (y == 0) are shifted by 0
    first = ds.x_train[ds.y_train == 2]
    assert float(first.mean()) < 1.0
    kept = load_dataset("arrays", path=str(tmp_path / "d.npz"), classes=["zebra", "ant"])
    assert kept.meta.class_names == ("zebra", "ant") and kept.meta.num_classes == 2


def test_channels_last_images_are_detected_and_said(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 6, 5, 3), dtype=np.uint8)
    y = np.arange(40) % 2
    np.savez(tmp_path / "img.npz", x=x, y=y)
    ds = load_dataset("arrays", path=str(tmp_path / "img.npz"), normalize="unit", val_fraction=0)
    assert ds.meta.input_shape == (3, 6, 5)
    assert "(N, H, W, C) detected" in ds.meta.source
    # unit: uint8 divided by 255, channels moved, values kept per sample
    assert float(ds.x_train.max()) <= 1.0
    all_x = torch.cat([ds.x_train, ds.x_test]) * 255
    assert torch.allclose(torch.sort(all_x.flatten())[0],
                          torch.sort(torch.from_numpy(x.astype(np.float32)).flatten())[0])


def test_ambiguous_layout_asks(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((10, 3, 4, 3)), y=np.arange(10) % 2)
    with pytest.raises(ConfigError, match=r"data\.layout = 'auto'.*channels_first or channels_last"):
        load_dataset("arrays", path=str(tmp_path / "a.npz"))
    ds = load_dataset("arrays", path=str(tmp_path / "a.npz"), layout="channels_last")
    assert ds.meta.input_shape == (3, 3, 4)


def test_npy_pair_and_folder_of_npy(tmp_path):
    x, y = _blobs()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    pair = load_dataset("arrays", path=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"))
    folder = load_dataset("arrays", path=str(tmp_path))
    assert torch.equal(pair.x_train, folder.x_train)
    assert len(pair.x_train) + len(pair.x_val) + len(pair.x_test) == 120


def test_safetensors(tmp_path):
    x, y = _blobs()
    save_file({"x_train": x[:100], "y_train": y[:100], "x_test": x[100:], "y_test": y[100:]},
              str(tmp_path / "d.safetensors"))
    ds = load_dataset("arrays", path=str(tmp_path / "d.safetensors"))
    assert len(ds.x_test) == 20 and ds.meta.num_classes == 3


def test_signals_keep_their_channels(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "s.npz", x=rng.normal(size=(30, 2, 16)), y=np.arange(30) % 3)
    ds = load_dataset("arrays", path=str(tmp_path / "s.npz"))
    assert ds.meta.input_shape == (2, 16) and "signals (N, C, L)" in ds.meta.source


def test_shared_options_work_on_arrays(tmp_path):
    x, y = _blobs(n=300)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset("arrays", path=str(tmp_path / "d.npz"), labels_per_class=5, classes=[2, 0])
    assert torch.bincount(ds.y_train).tolist() == [5, 5]
    assert ds.meta.classes == (2, 0) and ds.x_unlabeled is not None
    frac = load_dataset("arrays", path=str(tmp_path / "d.npz"), labels_fraction=0.5)
    assert abs(len(frac.x_train) - len(frac.x_unlabeled)) <= 3
