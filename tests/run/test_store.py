import multiprocessing

from trainwell.loop.history import History
from trainwell.run.store import FINISHED, RunSpec, Store

N_PER_WRITER = 40
WRITERS = 4


def _writer(db, w):
    store = Store(db)
    specs = [RunSpec(f"w{w}-{i}", "e", f"w{w}", {"w": w}, i, {"i": i}) for i in range(N_PER_WRITER)]
    store.add_runs(specs)
    for s in specs:
        assert store.claim(s.id)
        h = History(status="done", step_loss=[1.0, 0.5, 0.25],
                    epochs=[{"epoch": 1, "step": 3, "train_loss": 0.5, "val_acc": 0.7}],
                    final={"test_acc": 0.5})
        store.finish(s.id, h)
    store.close()


def test_four_processes_writing_concurrently_lose_nothing(tmp_path):
    db = tmp_path / "results.db"
    Store(db).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(db), w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(db)
    runs = store.runs()
    ids = [r.id for r in runs]
    assert len(ids) == len(set(ids)) == WRITERS * N_PER_WRITER
    assert all(r.status == "done" and r.attempts == 1 for r in runs)
    rows = store.metrics()
    assert len(rows) == len(set((r, s, n) for r, s, n, _ in rows)) == WRITERS * N_PER_WRITER * 5
    assert {r.id for r in store.runs(status=FINISHED, ids=["w0-0", "w3-39"])} == {"w0-0", "w3-39"}


def test_finished_runs_cannot_be_claimed_and_rerun_replaces_metrics(tmp_path):
    store = Store(tmp_path / "r.db")
    store.put_experiment("e", axes=["a"], fixed={}, grid=["x", "y"])
    assert store.add_runs([RunSpec("x", "e", "x", {}, 0, {}), RunSpec("y", "e", "y", {}, 0, {})]) == 2
    assert store.add_runs([RunSpec("x", "e", "x", {}, 0, {})]) == 0
    assert store.claim("x")
    store.set_status("x", "interrupted")
    assert store.claim("x")
    store.finish("x", History(status="diverged", step_loss=[1.0, None], diverged_step=1))
    assert not store.claim("x")
    row = store.runs(ids=["x"])[0]
    assert (row.status, row.attempts, row.diverged_step) == ("diverged", 2, 1)
    assert store.metrics(["x"]) == [("x", 0, "loss", 1.0), ("x", 1, "loss", None)]


def test_runs_of_an_experiment_are_its_current_grid(tmp_path):
    store = Store(tmp_path / "r.db")
    store.add_runs([RunSpec(i, "e", i, {}, 0, {}) for i in "abc"])
    store.put_experiment("e", axes=[], fixed={}, grid=["c", "a"])
    assert {r.id for r in store.runs("e")} == {"a", "c"}
    assert {r.id for r in store.runs("e", all_runs=True)} == {"a", "b", "c"}
    store.put_experiment("e", axes=[], fixed={}, grid=[])
    assert store.runs("e") == []


_OLD_RUNS = """CREATE TABLE runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, label TEXT NOT NULL, point TEXT NOT NULL,
    seed INTEGER NOT NULL, recipe TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    error TEXT, attempts INTEGER NOT NULL DEFAULT 0, started REAL, finished REAL,
    seconds REAL, progress TEXT, final TEXT, diverged_step INTEGER, stop_reason TEXT,
    verdicts TEXT)"""


def test_a_store_written_with_the_progress_column_still_reads_and_writes(tmp_path):
    import sqlite3

    db = tmp_path / "results.db"
    Store(db).close()  # every table as the store makes it, then the runs table of before
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE runs")
        conn.execute(_OLD_RUNS)
        conn.execute("INSERT INTO runs (id, experiment, label, point, seed, recipe, status, "
                     "progress, final) VALUES ('old', 'e', 'a', '{}', 0, '{}', 'done', "
                     "'{\"epoch\": 3}', '{\"test_acc\": 0.5}')")
        conn.execute("INSERT INTO runs (id, experiment, label, point, seed, recipe) "
                     "VALUES ('new', 'e', 'b', '{}', 0, '{}')")
    conn.close()
    assert Store(db, readonly=True).runs(ids=["old"])[0].final == {"test_acc": 0.5}
    store = Store(db)
    assert store.claim("new")
    store.finish("new", History(status="done", step_loss=[1.0], final={"test_acc": 0.25}))
    assert {r.id: r.final["test_acc"] for r in store.runs()} == {"old": 0.5, "new": 0.25}
    assert not hasattr(store, "set_progress")


def test_a_run_on_two_classes_is_judged_against_its_own_chance_level(tmp_path):
    """A binary task at 52 % training accuracy did not train (chance is 50 %); the store keeps
    the number of classes each run trained on, so the report's rule uses it, not 10."""
    from trainwell.report.outcome import run_outcome, runs_classes

    store = Store(tmp_path / "results.db")
    store.add_runs([RunSpec(i, "e", i, {}, 0, {}) for i in ("binary", "digits", "old")])
    for rid, data, acc in (("binary", {"name": "table", "num_classes": 2}, 0.52),
                           ("digits", {"name": "digits", "num_classes": 10}, 0.52),
                           ("old", None, 0.52)):
        assert store.claim(rid)
        store.finish(rid, History(status="done", step_loss=[1.0], final={"train_acc": acc},
                                  data=data))
    runs = {r.id: r for r in store.runs()}
    assert runs["binary"].data["num_classes"] == 2 and runs["old"].data is None
    assert run_outcome(runs["binary"]) == "n/c"
    assert run_outcome(runs["digits"]) == "ok" and run_outcome(runs["old"]) == "ok"
    assert runs_classes([runs["binary"]]) == 2 and runs_classes([runs["digits"]]) == 10
