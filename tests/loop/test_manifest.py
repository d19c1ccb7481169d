"""A checkpoint's manifest is covered by its own check: an edited epoch or step makes the
checkpoint damaged, so resuming falls back to the one before and says so in one line."""

import json
import shutil

import pytest

from trainwell.cli import main
from trainwell.loop import latest_checkpoint
from trainwell.loop.resume import MANIFEST, manifest_digest, read_checkpoint

ARGS = ["--set", "data.name=digits", "--set", "model.depth=1", "--set", "model.width=16",
        "--set", "train.epochs=3", "--set", "train.checkpoint_every=1",
        "--set", "train.record_every=0", "--set", "train.threads=1", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["train", *ARGS, "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-2", "epoch-3"]
    return out


@pytest.fixture
def run(trained, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(trained, out)
    return out


def _edit(folder, **changes):
    path = folder / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest, indent=1))
    return manifest


def test_every_manifest_carries_the_digest_of_its_content(run):
    manifest = json.loads((run / "checkpoints" / "epoch-3" / MANIFEST).read_text())
    assert manifest["digest"] == manifest_digest(manifest)
    assert read_checkpoint(run / "checkpoints" / "epoch-3")[0].epoch == 3


@pytest.mark.parametrize("change", [{"epoch": 1}, {"epoch": 7}, {"step": 5},
                                    {"epochs": 30}, {"meta": {}}])
def test_an_edited_manifest_is_damaged_and_the_checkpoint_before_is_resumed(run, change):
    _edit(run / "checkpoints" / "epoch-3", **change)
    with pytest.raises(ValueError, match="does not match its digest"):
        read_checkpoint(run / "checkpoints" / "epoch-3")
    found = latest_checkpoint(run / "checkpoints")
    assert found is not None and found.epoch == 2
    assert len(found.skipped) == 1 and "epoch-3" in found.skipped[0]
    assert "resuming from epoch 2" in found.fallback_note()


def test_a_manifest_whose_epoch_disagrees_with_its_history_is_damaged_even_with_its_digest(run):
    folder = run / "checkpoints" / "epoch-3"
    manifest = _edit(folder, epoch=1)
    manifest.pop("digest")
    _edit(folder, digest=manifest_digest(manifest))
    with pytest.raises(ValueError, match="says epoch 1, step .*; its history has 3 epochs"):
        read_checkpoint(folder)
    _edit(folder, epoch=3, format=1, digest=None)  # an older manifest, without a digest
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.pop("digest")
    (folder / MANIFEST).write_text(json.dumps({**manifest, "step": 2}))
    with pytest.raises(ValueError, match="its history has 3 epochs"):
        read_checkpoint(folder)


def test_resume_says_in_one_line_that_it_fell_back(run, capsys):
    _edit(run / "checkpoints" / "epoch-3", epoch=2)
    capsys.readouterr()
    assert main(["train", *ARGS[:-1], "--out", str(run), "--resume"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "damaged checkpoint" in line]
    assert len(lines) == 1 and "epoch-3" in lines[0] and "digest" in lines[0]
    assert "resuming from" in out and "epoch-2 (epoch 2 of 3)" in out
    history = json.loads((run / "history.json").read_text())
    assert history["resumed_from"] == 2 and len(history["epochs"]) == 3


def _rewrite(folder, name, data, **changes):
    """Replace ``name`` in a checkpoint by ``data`` and sign the manifest again, as a careful
    hand would: only what the files themselves record can tell."""
    import hashlib

    (folder / name).write_bytes(data)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest.update(changes)
    manifest.pop("digest")
    manifest["digest"] = manifest_digest(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))


def test_the_generator_state_says_the_epoch_and_step_it_was_saved_at(run):
    from safetensors import safe_open

    for epoch in (2, 3):
        folder = run / "checkpoints" / f"epoch-{epoch}"
        manifest = json.loads((folder / MANIFEST).read_text())
        with safe_open(folder / "rng.safetensors", "pt") as f:
            assert f.metadata() == {"epoch": str(epoch), "step": str(manifest["step"])}


def test_a_manifest_and_history_that_disagree_with_the_generator_state_are_damaged(run, capsys):
    folder = run / "checkpoints" / "epoch-3"
    history = json.loads((folder / "history.json").read_text())
    steps = len(history["step_loss"]) // 3
    history["epochs"], history["step_loss"] = history["epochs"][:2], history["step_loss"][:2 * steps]
    _rewrite(folder, "history.json", json.dumps(history).encode(), epoch=2, step=2 * steps)
    with pytest.raises(ValueError, match=rf"says epoch 2, step {2 * steps}; its generator state "
                                         rf"was saved at epoch 3, step {3 * steps}"):
        read_checkpoint(folder)
    capsys.readouterr()
    assert main(["train", *ARGS[:-1], "--out", str(run), "--resume"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "damaged checkpoint" in line]
    assert len(lines) == 1 and "generator state" in lines[0]
    assert "epoch-2 (epoch 2 of 3)" in out


def test_a_checkpoint_whose_generator_state_says_nothing_still_resumes_exactly(trained, run):
    from safetensors.torch import load, load_file, save

    folder = run / "checkpoints" / "epoch-2"
    _rewrite(folder, "rng.safetensors", save(load((folder / "rng.safetensors").read_bytes())))
    shutil.rmtree(run / "checkpoints" / "epoch-3")
    assert read_checkpoint(folder)[0].epoch == 2
    assert main(["train", *ARGS, "--out", str(run), "--resume"]) == 0
    resumed, whole = load_file(run / "weights.safetensors"), load_file(trained / "weights.safetensors")
    assert resumed.keys() == whole.keys()
    assert all(resumed[k].equal(whole[k]) for k in whole)
    assert json.loads((run / "history.json").read_text())["resumed_from"] == 2
