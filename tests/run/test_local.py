import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from trainwell.run import run_sweep
from trainwell.run.store import Store
from trainwell.sweep import Sweep

FACTORY = textwrap.dedent("""
    import torch

    class Boom(torch.nn.Module):
        def __init__(self, input_shape, num_classes):
            super().__init__()
            self.lin = torch.nn.Linear(int(torch.tensor(input_shape).prod()), num_classes)
            self.trainwell_activation = ("identity", None)  # linear, so no module to read it off
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 3:
                raise RuntimeError("boom inside forward")
            return self.lin(x.flatten(1))

    def make(input_shape, num_classes):
        return Boom(input_shape, num_classes)
""")


def test_a_diverging_and_a_raising_run_are_recorded_and_the_sweep_completes(tmp_path, monkeypatch):
    (tmp_path / "boom_factory.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    s = Sweep.from_dict({
        "data": {"name": "digits"},
        "model": {"name": ["mlp", "boom_factory:make"]},
        "optim": {"name": "sgd", "lr": [0.01, 1e7]},
        "train": {"epochs": 3}}, experiment="mixed")
    outcome = run_sweep(s, root=tmp_path / "runs", workers=2, quiet=True)
    assert outcome.total == 4 and outcome.ran == 4 and not outcome.interrupted
    store = Store(outcome.folder / "results.db")
    by_point = {(r.point["model.name"], r.point["optim.lr"]): r for r in store.runs("mixed")}
    assert by_point[("mlp", 0.01)].status == "done"
    diverged = by_point[("mlp", 1e7)]
    assert diverged.status == "diverged" and diverged.diverged_step is not None
    for lr in (0.01, 1e7):
        failed = by_point[("boom_factory:make", lr)]
        assert failed.status == "failed" and "boom inside forward" in failed.error
    done = by_point[("mlp", 0.01)]
    assert (outcome.folder / done.id / "weights.safetensors").is_file()
    assert (outcome.folder / diverged.id / "history.json").is_file()
    assert len(store.metrics([done.id], ["loss"])) > 0

    again = run_sweep(s, root=tmp_path / "runs", workers=2, quiet=True)
    assert again.skipped == 4 and again.ran == 0
    assert all(r.attempts == 1 for r in store.runs("mixed"))


SWEEP = """
[sweep]
experiment = "killme"
seeds = 6
[data]
name = "digits"
[model]
name = "mlp"
depth = 2
width = 32
[train]
epochs = 100
"""


def _rows(db):
    with sqlite3.connect(db) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT id, status, attempts, finished FROM runs")}


def test_a_sweep_killed_with_sigkill_resumes_without_recomputing(tmp_path):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(SWEEP)
    cmd = [sys.executable, "-m", "trainwell", "compare", str(sweep_file), "--root",
           str(tmp_path / "runs"), "--workers", "2", "--quiet"]
    db = tmp_path / "runs" / "killme" / "results.db"
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    rows = _rows(db)
                except sqlite3.OperationalError:
                    rows = {}
                if sum(1 for r in rows.values() if r[0] == "done") >= 2:
                    break
            assert proc.poll() is None, "the sweep finished before it could be killed"
            time.sleep(0.2)
        else:
            raise AssertionError("no run finished in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _rows(db)
    finished_before = {k: v for k, v in before.items() if v[0] == "done"}
    assert 2 <= len(finished_before) < 6

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = _rows(db)
    assert len(after) == 6 and set(after) == set(before)
    assert all(v[0] == "done" for v in after.values())
    for rid, (status, attempts, finished) in finished_before.items():
        assert after[rid] == (status, attempts, finished) and attempts == 1
    assert (tmp_path / "runs" / "killme" / "report.html").is_file()


def test_ctrl_c_stops_cleanly_keeps_finished_runs_and_resumes(tmp_path):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(SWEEP.replace('"killme"', '"ctrlc"'))
    cmd = [sys.executable, "-m", "trainwell", "compare", str(sweep_file), "--root",
           str(tmp_path / "runs"), "--workers", "2", "--quiet"]
    db = tmp_path / "runs" / "ctrlc" / "results.db"
    # Ctrl-C as in a terminal: the driver starts with SIGINT at its default even when this test
    # process inherited it ignored (a library that ignores SIGINT leaves it so for children)
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            rows = _rows(db) if db.exists() else {}
        except sqlite3.OperationalError:
            rows = {}
        statuses = [r[0] for r in rows.values()]
        if statuses.count("done") >= 1 and "running" in statuses and len(rows) - statuses.count(
                "done") >= 3:
            break
        assert proc.poll() is None, "the sweep finished before it could be interrupted"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    rows = _rows(db)
    statuses = {r[0] for r in rows.values()}
    assert "running" not in statuses and "interrupted" in statuses
    done_before = {k: v for k, v in rows.items() if v[0] == "done"}
    assert done_before

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = _rows(db)
    assert all(v[0] == "done" for v in after.values()) and len(after) == 6
    for rid, row in done_before.items():
        assert after[rid] == row
