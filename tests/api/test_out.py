"""``--out`` / ``out=`` is checked before anything trains: a file is refused, a folder holding
another run is refused naming it, this recipe's finished run is not silently trained again,
and ``overwrite`` replaces what was there (old checkpoints included)."""

import pytest

import trainwell as tw
from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.recipe import Recipe
from trainwell.run_folder import RunFolder
from trainwell.sweep import run_id

TINY = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 16},
        "train": {"epochs": 1, "threads": 1, "record_every": 0}}
OTHER = {**TINY, "optim": {"name": "sgd", "lr": 0.05}}


def _recipe_file(tmp_path, raw, name="r.toml"):
    path = tmp_path / name
    path.write_text(Recipe.from_dict(raw).to_toml())
    return path


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_an_out_that_is_a_file_is_refused_before_training(tmp_path, capsys, where):
    blocker = tmp_path / "taken"
    blocker.write_text("mine")
    out = blocker if where == "file" else blocker / "run"
    with pytest.raises(ConfigError) as caught:
        tw.train(TINY, out=out, quiet=True)
    assert caught.value.key == "out" and "is a file" in str(caught.value)
    assert main(["train", str(_recipe_file(tmp_path, TINY)), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out = ") and "is a file" in err and "Traceback" not in err
    assert blocker.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "r.toml", "taken"]


def test_another_recipes_run_is_refused_naming_it_and_overwrite_replaces_it(tmp_path, capsys):
    out = tmp_path / "out"
    first = tw.train(OTHER, out=out, quiet=True, train__checkpoint_every=1)
    assert first.status == "done" and RunFolder(out).checkpoints.is_dir()
    before = _snapshot(out)
    with pytest.raises(ConfigError, match=f"finished run {first.id} of another recipe") as caught:
        tw.train(TINY, out=out, quiet=True)
    assert caught.value.key == "out"
    assert main(["train", str(_recipe_file(tmp_path, TINY)), "--out", str(out), "-q"]) == 2
    assert f"run {first.id} of another recipe" in capsys.readouterr().err
    assert _snapshot(out) == before
    run = tw.train(TINY, out=out, overwrite=True, quiet=True)
    assert run.status == "done" and run.id == run_id(Recipe.from_dict(TINY).to_dict())
    assert run_id(RunFolder(out).read_recipe()) == run.id
    assert not RunFolder(out).checkpoints.exists()  # the old run's checkpoints went with it


def test_this_recipes_finished_run_is_said_finished_and_an_unfinished_one_resumes(tmp_path):
    out = tmp_path / "out"
    raw = {**TINY, "train": {**TINY["train"], "epochs": 2, "checkpoint_every": 1}}
    tw.train(raw, out=out, quiet=True)
    with pytest.raises(ConfigError, match="finished; train it again with overwrite"):
        tw.train(raw, out=out, quiet=True)
    RunFolder(out).history.unlink()  # as a run killed while its folder was written
    with pytest.raises(ConfigError, match=r"unfinished; continue it with resume \(--resume\)"):
        tw.train(raw, out=out, quiet=True)
    resumed = tw.train(raw, out=out, resume=True, quiet=True)
    assert resumed.status == "done" and resumed.history.resumed_from == 2


@pytest.mark.parametrize(("call", "kwargs", "key", "argv", "flag"), [
    (tw.train, {"resume": True}, "resume", ["train", "--resume"], "--resume"),
    (tw.train, {"set": "train.epochs"}, "set", ["train", "--set", "train.epochs"], "--set"),
    (tw.compare, {"axis": ["optim.lr"]}, "axis", ["compare", "--axis", "optim.lr"], "--axis"),
    (tw.compare, {"retries": -1}, "retries", ["compare", "--retries", "-1"], "--retries"),
])
def test_a_mistake_is_named_as_the_caller_wrote_it(call, kwargs, key, argv, flag, tmp_path,
                                                   capsys):
    with pytest.raises(ConfigError) as caught:
        call(**kwargs, quiet=True)
    assert caught.value.key == key
    assert main([*argv, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} = ") and str(caught.value).split(": expected")[1] in err


def test_ensemble_where_without_a_value_names_where(tmp_path, capsys):
    from trainwell.report.ensembles import select_runs

    with pytest.raises(ConfigError) as caught:
        select_runs([], ["init"])
    assert caught.value.key == "--where"
