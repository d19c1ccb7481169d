"""Checkpoints at the trainer's level: what is written, when, how damage is handled, and that
resuming gives the uninterrupted run bit for bit (and would not without each restored part)."""

import json
import os

import pytest
import torch
from loop_interrupt import Interrupt
from safetensors.torch import load_file

import trainwell.loop.capture as capture
from trainwell.data import load_dataset
from trainwell.data.augment import Augment
from trainwell.errors import ConfigError
from trainwell.loop import Checkpoint, Checkpoints, StopTraining, fit, latest_checkpoint
from trainwell.loop.resume import read_checkpoint
from trainwell.loop.stateful import join_tensors, split_tensors
from trainwell.models import build_model
from trainwell.optim.schedules import LRSchedule
from trainwell.regularize.early_stopping import EarlyStopping

EPOCHS = 5


@pytest.fixture(scope="module")
def digits(one_thread):
    return load_dataset("digits")


def _train(ds, folder=None, *, stop_after=None, resume=None, epochs=EPOCHS, every=1, extra=(),
           fused=False):
    """A run where every kind of state matters: dropout (global RNG), shuffling (its own
    generator), augmentation (its own generator), Adam, a cosine schedule."""
    torch.manual_seed(0)
    model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2, width=32,
                        dropout=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, **({"fused": True} if fused else {}))
    callbacks = [Augment([{"name": "translate", "pixels": 1}, {"name": "noise", "std": 0.1}],
                         generator=torch.Generator().manual_seed(1)),
                 LRSchedule("cosine"), *extra]
    if stop_after is not None:
        callbacks.append(Interrupt(stop_after))
    checkpoints = Checkpoints(folder, every=every) if folder is not None else None
    history = fit(model, ds, optimizer, epochs=epochs, batch_size=128, callbacks=callbacks,
                  generator=torch.Generator().manual_seed(2), checkpoints=checkpoints,
                  resume=resume)
    return model, history


def _per_epoch(history):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history.epochs]


def _assert_same(a, b):
    (model_a, hist_a), (model_b, hist_b) = a, b
    sa, sb = model_a.state_dict(), model_b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert hist_a.final == hist_b.final
    assert _per_epoch(hist_a) == _per_epoch(hist_b)
    assert hist_a.step_loss == hist_b.step_loss
    assert hist_a.step_lr == hist_b.step_lr


def _interrupted(ds, folder, after, **kw):
    with pytest.raises(KeyboardInterrupt):
        _train(ds, folder, stop_after=after, **kw)


def test_a_resumed_fit_is_bit_identical_to_the_uninterrupted_one(digits, tmp_path):
    whole = _train(digits)
    _interrupted(digits, tmp_path, after=3)
    found = latest_checkpoint(tmp_path)
    assert found is not None and (found.epoch, found.step) == (2, 2 * 11)
    resumed = _train(digits, tmp_path, resume=found)
    _assert_same(whole, resumed)
    assert resumed[1].resumed_from == 2 and whole[1].resumed_from is None


def test_a_resumed_fit_with_the_fused_adam_step_is_bit_identical_too(digits, tmp_path):
    whole = _train(digits, fused=True)
    _interrupted(digits, tmp_path, after=3, fused=True)
    resumed = _train(digits, tmp_path, resume=latest_checkpoint(tmp_path), fused=True)
    _assert_same(whole, resumed)
    assert resumed[1].resumed_from == 2


@pytest.mark.parametrize("part", ["global rng", "shuffling", "augmentation", "optimizer"])
def test_without_each_restored_part_the_resumed_run_differs(digits, tmp_path, monkeypatch, part):
    """The comparison above can fail: leave one part as a fresh run has it and it does."""
    whole = _train(digits)
    _interrupted(digits, tmp_path, after=3)
    found = latest_checkpoint(tmp_path)
    real = capture._set_generators
    if part == "global rng":
        monkeypatch.setattr(capture, "_set_generators",
                            lambda rng, gen: real({**rng, "torch": torch.get_rng_state()}, gen))
    elif part == "shuffling":
        monkeypatch.setattr(capture, "_set_generators", lambda rng, gen: real(rng, None))
    elif part == "augmentation":
        monkeypatch.setattr(Augment, "load_state_dict", lambda self, state: None)
    else:
        monkeypatch.setattr(torch.optim.Adam, "load_state_dict", lambda self, state: None)
    model, _ = _train(digits, tmp_path, resume=found)
    assert not all(torch.equal(a, b) for a, b in zip(whole[0].state_dict().values(),
                                                     model.state_dict().values(), strict=True))


def test_checkpoints_every_n_epochs_and_at_the_end_keeping_the_last_two(digits, tmp_path):
    written = []
    save = Checkpoints.save

    def spy(self, state, files):
        written.append(len(state.history.epochs))
        return save(self, state, files)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Checkpoints, "save", spy)
        _train(digits, tmp_path, every=2)
    assert written == [2, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-4", "epoch-5"]


def test_a_checkpoint_holds_no_pickle_and_a_manifest_of_checksums(digits, tmp_path):
    _train(digits, tmp_path, epochs=2)
    folder = tmp_path / "epoch-2"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["callbacks.safetensors", "history.json", "manifest.json",
                     "optimizer.safetensors", "rng.safetensors", "state.json",
                     "weights.safetensors"]
    for path in folder.iterdir():
        assert path.suffix in (".json", ".safetensors")
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            load_file(path)
        assert not path.read_bytes().startswith(b"\x80")  # a pickle's protocol marker
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    assert (manifest["epoch"], manifest["epochs"]) == (2, 2)
    optimizer = load_file(folder / "optimizer.safetensors")
    assert {"state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"} <= set(optimizer)
    assert set(load_file(folder / "rng.safetensors")) == {"torch", "shuffle"}
    assert set(load_file(folder / "callbacks.safetensors")) == {"Augment.generator"}
    state = json.loads((folder / "state.json").read_text())
    assert state["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]


def _damage(folder, how):
    if how == "truncated weights":
        path = folder / "weights.safetensors"
        path.write_bytes(path.read_bytes()[:100])
    elif how == "no manifest":
        (folder / "manifest.json").unlink()
    elif how == "missing file":
        (folder / "rng.safetensors").unlink()
    else:  # one changed byte
        path = folder / "history.json"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated weights", "no manifest", "missing file", "flipped byte"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(digits, tmp_path, how):
    whole = _train(digits)
    _interrupted(digits, tmp_path, after=4)
    _damage(tmp_path / "epoch-3", how)
    with pytest.raises(ValueError, match="epoch-3"):
        read_checkpoint(tmp_path / "epoch-3")
    found = latest_checkpoint(tmp_path)
    assert found is not None and found.epoch == 2
    resumed = _train(digits, tmp_path, resume=found)
    _assert_same(whole, resumed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-4", "epoch-5"]


def test_an_unfinished_checkpoint_folder_is_ignored_and_cleared(digits, tmp_path):
    _interrupted(digits, tmp_path, after=2)
    unfinished = tmp_path / ".epoch-2.abc.tmp"
    unfinished.mkdir()
    (unfinished / "weights.safetensors").write_bytes(b"half")
    assert latest_checkpoint(tmp_path).epoch == 1
    _train(digits, tmp_path, resume=latest_checkpoint(tmp_path))
    assert not unfinished.exists()


def test_a_run_that_stopped_resumes_straight_to_its_end(digits, tmp_path):
    class StopAt:
        def after_epoch(self, state):
            if state.epoch == 2:
                raise StopTraining("enough")

    def run(**kw):
        stopping = EarlyStopping("val_acc", patience=10)
        return _train(digits, tmp_path, extra=[stopping, StopAt()], **kw)

    whole = run()
    assert whole[1].stop_reason == "enough" and len(whole[1].epochs) == 3
    found = latest_checkpoint(tmp_path)
    assert found.epoch == 3
    epochs = []

    class Seen:
        def before_epoch(self, state):
            epochs.append(state.epoch)

    stopping = EarlyStopping("val_acc", patience=10)
    resumed = _train(digits, tmp_path, extra=[stopping, StopAt(), Seen()], resume=found)
    assert epochs == [] and resumed[1].status == "done" and resumed[1].stop_reason == "enough"
    _assert_same(whole, resumed)
    assert resumed[1].early_stopping == whole[1].early_stopping


def test_a_fresh_fit_deletes_the_checkpoints_it_would_never_resume(digits, tmp_path):
    _train(digits, tmp_path, epochs=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-2", "epoch-3"]
    _interrupted(digits, tmp_path, after=2)  # a new run of 5 epochs, stopped after 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-1"]


def test_a_checkpoint_of_another_run_length_is_refused(digits, tmp_path):
    _interrupted(digits, tmp_path, after=2)
    with pytest.raises(ValueError, match="5 epochs x 11 steps; this run has 6 x 11"):
        _train(digits, tmp_path, resume=latest_checkpoint(tmp_path), epochs=6)


def test_latest_checkpoint_names_the_first_meta_key_that_differs(tmp_path, digits):
    model = torch.nn.Linear(64, 10)
    state_meta = {"train": {"epochs": 1, "seed": 0}, "model": {"name": "mlp"}}
    fit(torch.nn.Sequential(torch.nn.Flatten(), model), digits,
        torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=512,
        checkpoints=Checkpoints(tmp_path, meta=state_meta))
    assert latest_checkpoint(tmp_path, meta=state_meta).meta == state_meta
    other = {"train": {"epochs": 1, "seed": 3}, "model": {"name": "mlp"}}
    with pytest.raises(ConfigError, match=r"train\.seed = 3: expected 0, as in the checkpoint"):
        latest_checkpoint(tmp_path, meta=other)
    assert latest_checkpoint(tmp_path / "nothing") is None


def test_state_splits_into_tensors_and_json_and_back():
    state = {"best": 0.25, "epoch": 3, "weights": {"0.weight": torch.ones(2, 2)},
             "rows": [{"a": None}, torch.arange(3)], "betas": (0.9, 0.99)}
    tree, tensors = split_tensors(state, "X")
    assert set(tensors) == {"X.weights.0.weight", "X.rows.1"}
    assert json.loads(json.dumps(tree)) == tree
    back = join_tensors(tree, tensors)
    assert torch.equal(back["weights"]["0.weight"], torch.ones(2, 2))
    assert back["betas"] == [0.9, 0.99] and back["rows"][0] == {"a": None}
    with pytest.raises(TypeError, match=r"X\.bad: .* got a set"):
        split_tensors({"bad": {1, 2}}, "X")
    with pytest.raises(TypeError, match="keys must be strings"):
        split_tensors({"map": {1: torch.ones(1)}}, "X")


def test_the_checkpoint_folder_is_readable_by_others(digits, tmp_path):
    _train(digits, tmp_path, epochs=1)
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "epoch-1").stat().st_mode & 0o777 == 0o777 & ~mask
    assert isinstance(latest_checkpoint(tmp_path), Checkpoint)
