"""Transfer sources in sweeps and single runs: a source recipe is trained first, once, as a
run of its own, and every target starts from its weights."""

import torch
from safetensors.torch import load_file

from trainwell.cli import main
from trainwell.run.store import open_store

NET = """
[model]
name = "cnn"
channels = [8, 8]
batch_norm = true
[train]
epochs = 2
threads = 1
record_every = 0
"""

SOURCE = """
name = "digits 0-4"
[data]
name = "digits"
classes = [0, 1, 2, 3, 4]
""" + NET

SWEEP = """
[sweep]
seeds = 2
[[sweep.variants]]
label = "scratch"
[[sweep.variants]]
label = "frozen"
transfer = {from = "src.toml", freeze = "features"}
[data]
name = "digits"
classes = [5, 6, 7, 8, 9]
labels_per_class = [5, 20]
""" + NET


def test_a_sweep_trains_its_source_once_and_every_target_starts_from_it(tmp_path, monkeypatch):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "src.toml").write_text(SOURCE)
    (tmp_path / "files" / "few.toml").write_text(SWEEP)
    monkeypatch.chdir(tmp_path)  # the sweep names its source relative to itself
    args = ["compare", "files/few.toml", "--root", str(tmp_path / "runs"), "--workers", "2",
            "--quiet"]
    assert main(args) == 0
    with open_store(tmp_path / "runs" / "few-source") as store:
        sources = store.runs("few-source")
    assert len(sources) == 1 and sources[0].status == "done"
    source = load_file(str(tmp_path / "runs" / "few-source" / sources[0].id / "weights.safetensors"))
    with open_store(tmp_path / "runs" / "few") as store:
        runs = store.runs("few")
    assert len(runs) == 8 and all(r.status == "done" for r in runs)
    frozen = [r for r in runs if r.point["variant"]["label"] == "frozen"]
    for r in frozen:
        assert r.recipe["transfer"]["from"]["name"] == "digits 0-4"
        weights = load_file(str(tmp_path / "runs" / "few" / r.id / "weights.safetensors"))
        for k, v in source.items():
            if k.startswith("features"):
                assert torch.equal(weights[k], v), k  # frozen features: the source's exactly
    assert main(args) == 0  # a rerun trains nothing, the source included
    with open_store(tmp_path / "runs" / "few-source") as store:
        assert store.runs("few-source")[0].finished == sources[0].finished


def test_a_source_that_fails_fails_its_targets_with_the_reason(tmp_path, capsys):
    # L-BFGS with minibatches passes validation and fails when the run starts
    (tmp_path / "src.toml").write_text(SOURCE + '[optim]\nname = "lbfgs"\n')
    (tmp_path / "few.toml").write_text(SWEEP.replace("seeds = 2", "seeds = 1"))
    code = main(["compare", str(tmp_path / "few.toml"), "--root", str(tmp_path / "runs"),
                 "--workers", "1", "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    with open_store(tmp_path / "runs" / "few") as store:
        runs = store.runs("few")
    frozen = [r for r in runs if r.point["variant"]["label"] == "frozen"]
    assert frozen and all(r.status == "failed" and "transfer source run" in r.error for r in frozen)
    assert all(r.status == "done" for r in runs if r not in frozen)
    assert "transfer source run" in out.out + out.err


def test_trainwell_train_trains_the_source_first_and_keeps_it(tmp_path, capsys):
    (tmp_path / "src.toml").write_text(SOURCE)
    target = SWEEP.split("[data]")[1].replace("labels_per_class = [5, 20]", "labels_per_class = 5")
    (tmp_path / "t.toml").write_text('[transfer]\nfrom = "src.toml"\nfreeze = 1\n[data]' + target)
    out = tmp_path / "out"
    assert main(["train", str(tmp_path / "t.toml"), "--out", str(out), "--quiet"]) == 0
    first = (out / "source" / "weights.safetensors").stat().st_mtime_ns
    assert "the transfer source first" in capsys.readouterr().out
    assert main(["train", str(tmp_path / "t.toml"), "--out", str(out), "--quiet"]) == 2
    assert "finished" in capsys.readouterr().err  # the run is there: it is not trained again
    assert main(["train", str(tmp_path / "t.toml"), "--out", str(out), "--overwrite",
                 "--quiet"]) == 0
    assert (out / "source" / "weights.safetensors").stat().st_mtime_ns == first  # reused
    source = load_file(str(out / "source" / "weights.safetensors"))
    weights = load_file(str(out / "weights.safetensors"))
    assert torch.equal(weights["features.0.conv.weight"], source["features.0.conv.weight"])
