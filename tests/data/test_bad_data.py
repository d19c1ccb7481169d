"""Bad data is refused with one ConfigError naming where it is, before anything trains."""

import numpy as np
import pytest
import torch

from trainwell.cli import main
from trainwell.data import load_dataset
from trainwell.errors import ConfigError


def _npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    return str(tmp_path / "d.npz")


X = np.random.default_rng(0).normal(size=(20, 3))
Y = np.arange(20) % 2


@pytest.mark.parametrize("arrays, needle", [
    ({"x": X, "y": Y, "z": Y}, r"unknown: z"),
    ({"x_train": X, "y_train": Y, "x_test": X}, r"y_test is missing"),
    ({"x": X, "y": Y[:-1]}, r"as many labels as samples; x_train has 20 samples and y_train 19"),
    ({"x": np.where(np.arange(60).reshape(20, 3) == 31, np.nan, X), "y": Y},
     r"finite inputs; x_train\[10\] holds NaN or inf"),
    ({"x": X, "y": Y + 0.5}, r"y_train\[0\] is 0\.5, not an integer"),
    ({"x": X, "y": Y - 1}, r"y_train\[0\] is -1, below 0"),
    ({"x": X, "y": np.zeros(20, int)}, r"at least two classes.*one class only"),
    ({"x": X, "y": np.stack([Y, Y], 1)}, r"one label per sample"),
    ({"x": X[:, 0], "y": Y}, r"inputs shaped \(N, D\).*they are shaped \(20,\)"),
    ({"x_train": X, "y_train": Y, "x_test": X[:, :2], "y_test": Y}, r"one sample shape"),
])
def test_bad_arrays(tmp_path, arrays, needle):
    path = _npz(tmp_path, **arrays)
    with pytest.raises(ConfigError, match=r"data\.path = .*" + needle):
        load_dataset("arrays", path=path)


def test_missing_file_and_wrong_kind(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.path = .*nothing at that path"):
        load_dataset("arrays", path=str(tmp_path / "none.npz"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConfigError, match=r"a file ending in \.npz, \.npy, \.safetensors"):
        load_dataset("arrays", path=str(tmp_path / "notes.txt"))
    (tmp_path / "broken.npz").write_bytes(b"PK-no-zip")
    with pytest.raises(ConfigError, match=r"a readable \.npz file"):
        load_dataset("arrays", path=str(tmp_path / "broken.npz"))


def test_class_names_unknown_to_the_data(tmp_path):
    path = _npz(tmp_path, x=X, y=np.array(["a", "b"])[Y])
    with pytest.raises(ConfigError, match=r"data\.classes = \['a', 'c'\].*'c' is not one"):
        load_dataset("arrays", path=path, classes=["a", "c"])
    with pytest.raises(ConfigError, match=r"data\.classes = \[0, 5\].*5 is not a class"):
        load_dataset("arrays", path=path, classes=[0, 5])


def test_compare_on_bad_data_writes_nothing(tmp_path, capsys):
    path = _npz(tmp_path, x=X, y=Y[:-1])
    (tmp_path / "s.toml").write_text(f'[data]\nname = "arrays"\npath = "{path}"\n'
                                     '[init]\nname = ["zeros", "he_normal"]\n')
    code = main(["compare", str(tmp_path / "s.toml"), "--root", str(tmp_path / "runs"),
                 "--quiet"])
    assert code == 2 and not (tmp_path / "runs").exists()
    assert "as many labels as samples" in capsys.readouterr().err


def test_tensor_labels_of_floats_from_python():
    from trainwell.data import data_section

    with pytest.raises(ConfigError, match=r"train: int"):
        data_section({"train": 3})
    assert data_section((torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])))["name"] == "arrays"
