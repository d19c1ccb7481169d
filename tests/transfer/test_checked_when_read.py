"""A transfer recipe is checked when it is read, before anything trains or is written: the
source's weights file is told apart from a pickle by its header, its tensors must fit the
target network, its recipe.toml must be a valid recipe, ``freeze`` must leave a layer group
training and ``unfreeze_at`` must unfreeze inside the run. Each check also through the command
line: exit code 2, one line naming the key, nothing written."""

import json

import pytest
import torch
from safetensors.torch import save

from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.loop import save_run
from trainwell.loop.history import History
from trainwell.models import build_model
from trainwell.recipe import Recipe
from trainwell.transfer import read_weights, source_weights

MLP = {"name": "mlp", "depth": 3, "width": 64}
DIGITS = {"name": "digits"}


def _run_folder(folder, model=MLP, data=DIGITS, recipe_toml=None):
    """A source run folder as ``trainwell train --out`` leaves it (the weights untrained: only
    their names and shapes matter here)."""
    recipe = Recipe.from_dict({"data": data, "model": model, "train": {"epochs": 1}})
    torch.manual_seed(0)
    net = build_model(model["name"], input_shape=(1, 8, 8), num_classes=10,
                      **{k: v for k, v in model.items() if k != "name"})
    save_run(folder, recipe_toml=recipe_toml or recipe.to_toml(), history=History(status="done"),
             weights=net.state_dict())
    return folder


def _target(folder, **transfer):
    return {"data": DIGITS, "model": MLP, "train": {"epochs": 4},
            "transfer": {"from": str(folder), **transfer}}


def _safetensors_with_header_length(tensors, length):
    """A valid safetensors file whose JSON header is exactly ``length`` bytes long."""
    data = save(tensors)
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= length
    return length.to_bytes(8, "little") + text.ljust(length) + data[8 + size:]


@pytest.mark.parametrize("length", [128, 128 + 256, 128 + 256 * 3, 0x4B50],
                         ids=["0x80", "0x180", "0x380", "PK"])
def test_a_safetensors_file_is_read_whatever_its_header_length_starts_with(tmp_path, length):
    tensors = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}
    path = tmp_path / "weights.safetensors"
    path.write_bytes(_safetensors_with_header_length(tensors, length))
    first = path.read_bytes()[:2]
    assert first[:1] == b"\x80" or first == b"PK"
    loaded = read_weights(path)
    assert set(loaded) == {"w", "b"} and torch.equal(loaded["w"], tensors["w"])


def test_a_pickle_and_a_zip_are_still_refused(tmp_path):
    path = tmp_path / "weights.safetensors"
    torch.save({"w": torch.ones(2)}, path)  # a zip: starts with PK
    with pytest.raises(ConfigError, match="this one is a pickle"):
        read_weights(path)
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:1] == b"\x80"
    with pytest.raises(ConfigError, match="this one is a pickle"):
        read_weights(path)


def test_a_fresh_mlp_run_folder_whose_header_starts_with_0x80_is_a_source(tmp_path):
    folder = _run_folder(tmp_path / "src")
    assert (folder / "weights.safetensors").read_bytes()[:1] == b"\x80"  # a 640-byte header
    r = Recipe.from_dict(_target(folder, freeze="features"))
    assert r.transfer.digest is not None and r.transfer.source == str(folder.resolve())
    weights = source_weights(r.transfer)
    assert weights["head.weight"].shape == (10, 64)


def _fails_from_the_command_line(capsys, tmp_path, raw, key):
    """``trainwell train`` of ``raw``: exit 2, one line naming ``key``, nothing written."""
    from trainwell import _toml

    path = tmp_path / "target.toml"
    path.write_text(_toml.dumps(raw))
    out = tmp_path / "out"
    assert main(["train", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {key} = ") and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    return err


def test_weights_that_do_not_fit_the_target_are_refused_when_read(tmp_path, capsys):
    folder = _run_folder(tmp_path / "src", model={"name": "mlp", "depth": 3, "width": 32})
    with pytest.raises(ConfigError) as err:
        Recipe.from_dict(_target(folder))
    assert err.value.value == str(folder)
    assert "hidden.0.linear.weight (source [32, 64], target [64, 64])" in str(err.value)
    _fails_from_the_command_line(capsys, tmp_path, _target(folder), "transfer.from")


def test_a_source_folder_whose_recipe_is_not_valid_is_refused(tmp_path, capsys):
    folder = _run_folder(tmp_path / "src", recipe_toml='[optim]\nname = "sgd"\nlr = -1\n')
    with pytest.raises(ConfigError, match=r"recipe.toml' has optim.lr = -1"):
        Recipe.from_dict(_target(folder))
    err = _fails_from_the_command_line(capsys, tmp_path, _target(folder), "transfer.from")
    assert "is a valid recipe" in err


@pytest.mark.parametrize("freeze", [4, 5])
def test_freezing_every_layer_group_is_refused(tmp_path, capsys, freeze):
    folder = _run_folder(tmp_path / "src")  # 3 hidden layers and the head: 4 groups
    with pytest.raises(ConfigError, match="fewer than the model's 4 layer groups"):
        Recipe.from_dict(_target(folder, freeze=freeze))
    Recipe.from_dict(_target(folder, freeze=3))
    _fails_from_the_command_line(capsys, tmp_path, _target(folder, freeze=freeze),
                                 "transfer.freeze")


def test_freezing_every_group_of_a_source_recipe_network_is_refused():
    source = {"data": DIGITS, "model": MLP, "train": {"epochs": 1}}
    with pytest.raises(ConfigError, match="transfer.freeze = 4"):
        Recipe.from_dict({"data": DIGITS, "model": MLP,
                          "transfer": {"from": source, "freeze": 4}})


@pytest.mark.parametrize("unfreeze_at, why", [
    ([4], "epoch 4 never starts"), ([1, 9], "epoch 9 never starts"),
    ([2, 2], "strictly increasing"), ([3, 1], "strictly increasing")])
def test_unfreeze_epochs_must_fall_inside_the_run_and_increase(tmp_path, capsys, unfreeze_at, why):
    folder = _run_folder(tmp_path / "src")
    raw = _target(folder, freeze=2, unfreeze_at=unfreeze_at)
    with pytest.raises(ConfigError, match=why):
        Recipe.from_dict(raw)
    _fails_from_the_command_line(capsys, tmp_path, raw, "transfer.unfreeze_at")
    Recipe.from_dict(_target(folder, freeze=2, unfreeze_at=[1, 3]))


def test_transfer_from_a_number_names_transfer_from(capsys, tmp_path):
    with pytest.raises(ConfigError) as err:
        Recipe.from_dict({"transfer": {"from": 42}})
    assert err.value.key == "transfer.from" and "source" not in str(err.value)
    assert main(["train", "--set", "transfer.from=42", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: transfer.from = 42: expected")
