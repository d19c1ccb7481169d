"""Your data in the commands: trainwell data, compare on an image folder and on a CSV,
train, diagnose and pretrain on a table, with bad data refused in one line and exit code 2."""

import os

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image
from pyarrow import csv

from trainwell.cli import main
from trainwell.results import open_results


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Two classes of 8x8 grey pictures: a bright left half, or a bright right half."""
    root = tmp_path_factory.mktemp("pics") / "pics"
    rng = np.random.default_rng(0)
    for label, name in enumerate(("left", "right")):
        os.makedirs(root / name)
        for j in range(30):
            px = rng.integers(0, 60, (8, 8)).astype(np.uint8)
            px[:, 4 * label:4 * label + 4] += 150
            Image.fromarray(px).save(root / name / f"{j}.png")
    return root


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "flowers.csv"
    rng = np.random.default_rng(0)
    y = np.arange(240) % 3
    cols = {f"f{i}": rng.normal(size=240) + (y == i % 3) * 2.0 for i in range(6)}
    cols["colour"] = np.array(["red", "blue"])[np.arange(240) % 2].tolist()
    cols["species"] = np.array(["iris", "rose", "tulip"])[y].tolist()
    csv.write_csv(pa.table(cols), path)
    return path


SWEEP = """
[data]
name = "{name}"
path = "{path}"
{extra}
[model]
name = "mlp"
depth = 1
width = 16
[init]
name = ["he_normal", "zeros"]
[optim]
name = "adam"
lr = 0.01
[train]
epochs = 10
batch_size = 16
"""


def _compare(tmp_path, name, path, extra=""):
    (tmp_path / "mine.toml").write_text(SWEEP.format(name=name, path=path, extra=extra))
    code = main(["compare", str(tmp_path / "mine.toml"), "--root", str(tmp_path / "runs"),
                 "--workers", "1", "--quiet"])
    return code, tmp_path / "runs" / "mine"


def test_compare_on_an_image_folder_writes_its_report(pictures, tmp_path):
    code, folder = _compare(tmp_path, "images", pictures)
    assert code == 0 and (folder / "report.html").is_file()
    with open_results(folder) as res:
        runs = res.runs("mine")
        assert len(runs) == 2
        by_init = {r["init.name"]: r for r in runs}
        assert by_init["he_normal"]["test_acc"] > 0.9
        stored = res.store.runs("mine")
        assert {len(r.recipe["data"]["digest"]) for r in stored} == {16}


def test_compare_on_a_csv_writes_its_report(table_file, tmp_path):
    code, folder = _compare(tmp_path, "table", table_file, 'target = "species"')
    assert code == 0 and (folder / "report.html").is_file()
    with open_results(folder) as res:
        runs = res.runs("mine")
        assert {r["init.name"] for r in runs} == {"he_normal", "zeros"}
        assert max(r["test_acc"] for r in runs) > 0.6
    assert main(["export", str(folder), "--to", "csv", str(tmp_path / "csv")]) == 0
    assert len((tmp_path / "csv" / "runs.csv").read_text().splitlines()) == 3


def test_data_command_shows_the_dataset(pictures, capsys):
    assert main(["data", str(pictures)]) == 0
    out = capsys.readouterr().out
    assert "input: (1, 8, 8)" in out and "left" in out and "right" in out
    assert "cache: " in out and "digest: " in out


def test_data_command_on_a_table_with_options(table_file, capsys):
    assert main(["data", str(table_file), "--set", "target=species",
                 "--set", "data.val_fraction=0.2"]) == 0
    out = capsys.readouterr().out
    assert "input: (8,)" in out and "tulip" in out and "38 val, 48 test" in out


@pytest.mark.parametrize("args, needle", [
    (["data", "{pics}/../nowhere"], "SOURCE = "),
    (["data", "{pics}", "--set", "size=[0, 4]"], "data.size.0 = 0"),
    (["data", "{table}"], "data.target = None: expected a value"),
    (["data", "{table}", "--set", "target=colour", "--set", "features=[\"nope\"]"],
     "data.features = 'nope'"),
])
def test_bad_data_is_one_line_and_exit_2(args, needle, pictures, table_file, capsys):
    argv = [a.format(pics=pictures, table=table_file) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_train_diagnose_and_pretrain_on_a_table(table_file, tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[data]\nname = "table"\npath = "{table_file}"\ntarget = "species"\n'
                      '[model]\nname = "mlp"\ndepth = 2\nwidth = 16\n[train]\nepochs = 2\n')
    assert main(["train", str(recipe), "--quiet", "--out", str(tmp_path / "one")]) == 0
    assert "classes: iris, rose, tulip" in capsys.readouterr().out
    assert "data.digest" not in (tmp_path / "one" / "recipe.toml").read_text()
    assert 'digest = "' in (tmp_path / "one" / "recipe.toml").read_text()
    assert main(["diagnose", str(recipe), "--out", str(tmp_path / "diag")]) == 0
    assert (tmp_path / "diag" / "diagnosis.html").is_file()
    assert main(["pretrain", str(recipe), "--set", "init.name=dbn", "--set", "init.epochs=1",
                 "--out", str(tmp_path / "dbn")]) == 0
