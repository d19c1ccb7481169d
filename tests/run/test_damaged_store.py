"""A results store that cannot be used gives one line naming the file, what is wrong and what
to do, exit code 2 and no traceback, and the damaged file is left exactly as it was; a
read-only experiment folder can still be read."""

import sqlite3

import pytest

from trainwell.cli import main
from trainwell.loop.history import History
from trainwell.run import store_check
from trainwell.run.store import RunSpec, Store, open_store

RECIPE = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 1, "width": 8},
          "train": {"epochs": 1}}


def _good_store(folder):
    """An experiment ``e`` whose store spans many pages (so damage in the middle is damage)."""
    store = Store(folder / "results.db")
    store.put_experiment("e", axes=["seed"], fixed={}, grid=[f"r{i}" for i in range(3)])
    store.add_runs([RunSpec(f"r{i}", "e", "mlp", {"seed": i}, i, RECIPE) for i in range(3)])
    for i in range(3):
        store.finish(f"r{i}", History(status="done", step_loss=[1.0 / (s + 1) for s in range(3000)],
                                      epochs=[{"epoch": 1, "step": 3000, "train_loss": 0.5}],
                                      final={"test_acc": 0.9}))
    store.close()
    for extra in ("-wal", "-shm"):
        assert not (folder / f"results.db{extra}").exists()


def _not_a_database(db):
    db.write_bytes(b"this is not a database, only text\n" * 200)


def _truncated(db):
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])


def _malformed(db):
    data = bytearray(db.read_bytes())
    page = 4096
    for p in range(1, len(data) // page):  # every page header but the first: b-tree pages break
        data[p * page:p * page + 8] = b"\xff" * 8
    db.write_bytes(bytes(data))


def _without_tables(db):
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()


def _empty(db):
    db.write_bytes(b"")


DAMAGE = {"not a database": _not_a_database, "truncated": _truncated, "malformed": _malformed,
          "without its tables": _without_tables, "empty": _empty}

COMMANDS = {
    "report": lambda folder, tmp: ["report", str(folder)],
    "ensemble": lambda folder, tmp: ["ensemble", str(folder)],
    "export csv": lambda folder, tmp: ["export", str(folder), str(tmp / "csv"), "--to", "csv"],
    "compare": lambda folder, tmp: ["compare", "--init", "he_normal", "--set", "data.name=digits",
                                    "--set", "train.epochs=1", "--root", str(folder.parent),
                                    "--name", folder.name, "--quiet"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_gives_one_line_and_is_left_as_it_was(tmp_path, capsys, damage, command):
    folder = tmp_path / "e"
    folder.mkdir()
    _good_store(folder)
    db = folder / "results.db"
    DAMAGE[damage](db)
    before = db.read_bytes()
    listing = sorted(p.name for p in folder.iterdir())
    code = main(COMMANDS[command](folder, tmp_path))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(db) in err and "not a usable results store" in err
    assert "restore it from a copy" in err
    assert db.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == listing
    assert not (tmp_path / "csv").exists()


@pytest.fixture
def read_only(monkeypatch):
    """Folders marked read-only as a user without write permission sees them (the tests may
    run as root, for whom every folder is writable)."""
    frozen: set = set()
    real = store_check.os.access

    def access(path, mode, *args, **kwargs):
        if mode & store_check.os.W_OK and any(str(path).startswith(str(f)) for f in frozen):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_check.os, "access", access)
    return frozen


def test_a_read_only_folder_is_read_and_writing_commands_say_it_is_read_only(tmp_path, capsys,
                                                                             read_only):
    folder = tmp_path / "e"
    folder.mkdir()
    _good_store(folder)
    read_only.add(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["report", str(folder), "--figures", str(tmp_path / "figures")]) == 0
    out = capsys.readouterr().out
    assert "read-only" in out and "report.html not written" in out
    assert (tmp_path / "figures" / "e-table.md").is_file()
    assert main(["export", str(folder), str(tmp_path / "csv"), "--to", "csv"]) == 0
    assert (tmp_path / "csv" / "runs.csv").is_file()
    with open_store(folder) as store:
        assert [r.id for r in store.runs("e")] == ["r0", "r1", "r2"]
    code = main(COMMANDS["compare"](folder, tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{str(folder)!r} is read-only" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
