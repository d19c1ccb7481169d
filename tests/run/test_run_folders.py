"""Run folders and the store agree: the layout is RunFolder's, a callback's artifact lands there
with nothing in between, and a finished run whose folder is gone is trained again (and said)."""

import io
import shutil

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from trainwell.cli import main
from trainwell.plan import plan
from trainwell.run import Destination, InProcessBackend, Store, run_plan, run_sweep
from trainwell.run_folder import RunFolder
from trainwell.sweep import Sweep

TINY = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 16},
        "train": {"epochs": 1, "threads": 1, "record_every": 0}}


class InitialWeights:
    """The worked example of a new per-run artifact: the weights the run started from."""

    order = 0

    def before_fit(self, state):
        self.weights = {k: v.detach().cpu().clone() for k, v in state.model.state_dict().items()}

    def artifacts(self):
        return {"initial": self.weights}


def _sweep(tmp_path, console, **kw):
    s = Sweep.from_dict({**TINY, "init": {"name": ["zeros", "he_normal"]}}, experiment="f")
    return run_sweep(s, root=tmp_path, backend=InProcessBackend(**kw), quiet=True,
                     console=console)


def test_the_layout_is_the_run_folders():
    f = RunFolder("r")
    assert [p.name for p in (f.recipe, f.history, f.weights(), f.weights("averaged"),
                             f.predictions, f.checkpoints, f.tensorboard)] == [
        "recipe.toml", "history.json", "weights.safetensors", "averaged.safetensors",
        "predictions.safetensors", "checkpoints", "tensorboard"]
    assert f.artifact("snapshots/snapshot-3").relative_to(f.path).as_posix() == \
        "snapshots/snapshot-3.safetensors"
    with pytest.raises(ValueError, match="outside"):
        f.artifact("../elsewhere")


def test_a_callbacks_artifact_is_written_into_the_run_folder(tmp_path):
    done = _sweep(tmp_path, Console(file=io.StringIO()), callbacks=[InitialWeights()])
    with Store(done.folder / "results.db") as store:
        runs = store.runs("f")
    by_init = {r.point["init.name"]: RunFolder(done.folder / r.id) for r in runs}
    zeros = load_file(str(by_init["zeros"].artifact("initial")))
    assert all(torch.count_nonzero(v) == 0 for k, v in zeros.items() if k.endswith("weight"))
    he = load_file(str(by_init["he_normal"].artifact("initial")))
    trained = load_file(str(by_init["he_normal"].weights()))
    assert he.keys() == trained.keys() and torch.count_nonzero(he["head.weight"]) > 0
    assert not torch.equal(he["head.weight"], trained["head.weight"])


def test_a_finished_run_whose_folder_is_gone_is_trained_again_and_said(tmp_path):
    quiet = Console(file=io.StringIO())
    first = _sweep(tmp_path, quiet)
    ids = [r.id for r in plan(Sweep.from_dict({**TINY, "init": {"name": ["zeros", "he_normal"]}},
                                              experiment="f")).runs]
    assert first.ran == 2
    gone, weightless = RunFolder(first.folder / ids[0]), RunFolder(first.folder / ids[1])
    shutil.rmtree(gone.path)
    weightless.weights().unlink()
    said = io.StringIO()
    again = _sweep(tmp_path, Console(file=said, width=300))
    text = said.getvalue()
    assert again.ran == 2 and sorted(again.retrained) == sorted(ids)
    assert f"run {ids[1]}" in text and "its weights file is missing" in text
    assert f"run {ids[0]}" in text and "training it again" in text
    assert gone.is_complete() and weightless.is_complete()
    third = _sweep(tmp_path, quiet)
    assert third.ran == 0 and third.skipped == 2 and third.retrained == []


def test_a_destination_without_artifacts_keeps_recipe_and_history_and_is_not_retrained(tmp_path):
    p = plan(Sweep.from_dict({**TINY, "init": {"name": ["zeros", "he_normal"]}}, experiment="f"))
    dest = Destination.experiment_folder(tmp_path / "f", artifacts=False)
    try:
        first = run_plan(p, dest, backend=InProcessBackend(), quiet=True)
        again = run_plan(p, dest, backend=InProcessBackend(), quiet=True)
    finally:
        dest.store.close()
    assert first.ran == 2 and first.statuses == {"done": 2}
    for spec in p.runs:
        folder = RunFolder(tmp_path / "f" / spec.id)
        assert folder.recipe.is_file() and folder.history.is_file() and not folder.is_complete()
        assert sorted(f.name for f in folder.path.iterdir()) == ["history.json", "recipe.toml"]
    assert again.ran == 0 and again.skipped == 2 and again.retrained == []


def test_ensemble_names_a_run_whose_predictions_are_missing(tmp_path, capsys):
    s = Sweep.from_dict({**TINY, "sweep": {"seeds": 2}}, experiment="e")
    done = run_sweep(s, root=tmp_path, backend=InProcessBackend(), quiet=True,
                     console=Console(file=io.StringIO()))
    lost = plan(s).runs[1].id
    RunFolder(done.folder / lost).predictions.unlink()
    assert main(["ensemble", str(done.folder)]) == 2
    err = capsys.readouterr().err
    assert lost in err and "predictions are missing" in err and "Traceback" not in err
