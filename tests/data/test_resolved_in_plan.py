"""A recipe naming the user's data file is checked without reading it; plan() finds the file,
makes its path absolute and takes its digest, once per file for a whole grid."""

import builtins
import os

import numpy as np
import pytest

import trainwell as tw
from trainwell.cli import main
from trainwell.data import resolve as data_resolve
from trainwell.errors import ConfigError
from trainwell.plan import plan
from trainwell.recipe import Recipe, load_recipe


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.normal(size=(40, 3)).astype("float32"), y=np.arange(40) % 2)
    return path


@pytest.fixture
def digests(monkeypatch):
    """The files whose digest is taken, in order."""
    taken = []
    real = data_resolve.file_digest

    def counted(path):
        taken.append(str(path))
        return real(path)

    monkeypatch.setattr(data_resolve, "file_digest", counted)
    return taken


def test_a_recipe_naming_a_data_file_opens_and_stats_no_file(npz, monkeypatch):
    raw = {"data": {"name": "arrays", "path": str(npz)}}
    Recipe.from_dict(raw)  # imports what validation needs

    def refuse(*args, **kwargs):
        raise AssertionError(f"Recipe.from_dict touched a file: {args[:1]}")

    with monkeypatch.context() as m:
        for module, name in ((builtins, "open"), (os, "stat"), (os, "open")):
            m.setattr(module, name, refuse)
        recipe = Recipe.from_dict(raw)
    assert "digest" not in recipe.data.options and recipe.data.options["path"] == str(npz)
    assert plan(recipe).runs[0].recipe["data"]["digest"] == data_resolve.file_digest(npz)


def test_a_missing_data_file_is_refused_by_plan_not_by_the_recipe(tmp_path, digests):
    raw = {"data": {"name": "arrays", "path": str(tmp_path / "none.npz")}}
    assert Recipe.from_dict(raw).data.options["path"] == str(tmp_path / "none.npz")
    with pytest.raises(ConfigError, match=r"there is nothing at .*none\.npz") as err:
        plan(raw)
    assert err.value.key == "data.path" and digests == []


def test_a_grid_digests_each_data_file_once(npz, tmp_path, digests):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones((40, 3), "float32"), y=np.arange(40) % 2)
    grid = {"data": {"name": "arrays", "path": str(npz)},
            "init": {"name": ["zeros", "he_normal"]}, "optim": {"lr": [0.1, 0.01]},
            "sweep": {"seeds": 2}}
    p = plan(grid)
    assert len(p.runs) == 8 and digests == [str(npz)]
    assert {r.recipe["data"]["digest"] for r in p.runs} == {data_resolve.file_digest(npz)}
    digests.clear()
    two = plan({**grid, "data": {"name": "arrays", "path": [str(npz), str(other)]}})
    assert len(two.runs) == 16 and sorted(digests) == sorted([str(npz), str(other)])


def test_a_transfer_source_recipe_on_the_same_file_shares_its_digest(npz, digests):
    data = {"name": "arrays", "path": str(npz)}
    p = plan({"data": data, "init": {"name": ["zeros", "he_normal"]},
              "transfer": {"from": {"data": data, "train": {"epochs": 1}}}})
    assert digests == [str(npz)] and len(p.sources) == 1
    assert p.sources[0].recipe["data"]["digest"] == p.runs[0].recipe["data"]["digest"]
    missing = {"name": "arrays", "path": str(npz.with_name("none.npz"))}
    with pytest.raises(ConfigError, match="there is nothing at") as err:
        plan({"transfer": {"from": {"data": missing}}})
    assert err.value.key == "transfer.from.data.path"


def test_train_and_compare_refuse_a_missing_data_file_before_writing(tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    sets = ["--set", 'data.name="arrays"', "--set", 'data.path="none.npz"']
    for argv in (["train", *sets, "--out", "out"], ["compare", *sets, "--root", "runs"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: data.path = 'none.npz': expected an existing file")
        assert len(err.splitlines()) == 1 and list(tmp_path.iterdir()) == []
    for call in (tw.train, tw.compare):
        with pytest.raises(ConfigError, match=r"^data\.path = 'none\.npz'"):
            call(data__name="arrays", data__path="none.npz")
    assert list(tmp_path.iterdir()) == []


def test_doctor_from_the_command_line_finds_its_runs_on_a_data_file(npz, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.toml").write_text('[data]\nname = "arrays"\npath = "d.npz"\n'
                                     "[model]\ndepth = 1\nwidth = 8\n"
                                     "[train]\nepochs = 1\nbatch_size = 8\nthreads = 1\n")
    assert main(["doctor", "r.toml", "--out", "doc", "--fixes", "1", "--quiet"]) == 0
    fixed = load_recipe(tmp_path / "doc" / "fixed.toml")
    assert fixed.data.options["digest"] == data_resolve.file_digest(npz)


def test_tw_doctor_on_a_data_file_finds_its_runs(npz, tmp_path, monkeypatch):
    import trainwell as tw

    monkeypatch.chdir(tmp_path)
    result = tw.doctor({"data": {"name": "arrays", "path": "d.npz"}, "model": {"depth": 1, "width": 8},
                        "train": {"epochs": 1, "batch_size": 8, "threads": 1}}, out="doc", limit=1)
    assert result.original.status == "done"
    assert result.fixed.data.options["digest"] == data_resolve.file_digest(npz)
