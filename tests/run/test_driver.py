"""The driver and the local backend: failure boundaries, retries, ownership, exit codes."""

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from trainwell import _toml
from trainwell.cli import main
from trainwell.run import LocalBackend, run_sweep
from trainwell.run.store import RunSpec, Store
from trainwell.sweep import Sweep

BASE = {"data": {"name": "digits"}, "train": {"epochs": 2, "batch_size": 64, "record_every": 0}}


def _sweep(raw, experiment="t", seeds=1):
    return Sweep.from_dict({**BASE, **raw, "sweep": {"seeds": seeds}}, experiment=experiment)


def _builds(log: Path) -> Counter:
    return Counter(line.split()[0] for line in log.read_text().splitlines()) if log.exists() else Counter()


def test_a_raising_factory_fails_its_run_alone_and_the_cli_exits_1_naming_it(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text(_toml.dumps({**BASE, "sweep": {"experiment": "boom"},
                                  "model": [{"name": "factories:counted"},
                                            {"name": "factories:raising"}]}))
    code = main(["compare", str(sweep), "--root", str(tmp_path / "runs"), "--workers", "2",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    with Store(tmp_path / "runs" / "boom" / "results.db") as store:
        rows = {r.point["model"]["name"]: r for r in store.runs("boom")}
    bad, good = rows["factories:raising"], rows["factories:counted"]
    assert bad.status == "failed" and "the factory exploded" in bad.error
    assert good.status == "done"
    assert f"failed: {bad.label} · seed 0 ({bad.id})" in out and "the factory exploded" in out


def test_a_worker_killed_mid_sweep_is_retried_and_every_run_ends_done(tmp_path):
    log = tmp_path / "builds.log"
    s = _sweep({"model": {"name": "factories:dies_once", "marker": str(tmp_path / "m"),
                          "log": str(log), "tag": [0, 1, 2]}})
    outcome = run_sweep(s, root=tmp_path / "runs", workers=2, quiet=True)
    assert outcome.statuses == {"done": 3} and outcome.ran == 3 and not outcome.failed
    with Store(outcome.folder / "results.db") as store:
        rows = store.runs("t")
    assert all(r.attempts == 2 for r in rows)  # killed once, retried once
    assert _builds(log) == Counter({"0": 1, "1": 1, "2": 1})  # the kill came before the build
    assert all((outcome.folder / r.id / "weights.safetensors").is_file() for r in rows)


def test_a_run_that_kills_its_worker_every_time_fails_alone_after_the_retries(tmp_path):
    log = tmp_path / "builds.log"
    s = _sweep({"model": [{"name": "factories:dies_always", "log": str(log)},
                          {"name": "factories:counted", "log": str(log), "tag": 7}]})
    outcome = run_sweep(s, root=tmp_path / "runs", workers=2, retries=1, quiet=True)
    assert outcome.statuses == {"done": 1, "failed": 1}
    with Store(outcome.folder / "results.db") as store:
        rows = {r.point["model"]["name"]: r for r in store.runs("t")}
    dead = rows["factories:dies_always"]
    assert dead.attempts == 2 and "killed by SIGKILL" in dead.error and "tried 2 times" in dead.error
    assert _builds(log)["dies"] == 2 and _builds(log)["7"] == 1
    assert rows["factories:counted"].status == "done"


def _store_with(tmp_path, experiment, owner, heartbeat):
    """A store whose only run is held by ``owner`` with the given heartbeat."""
    s = _sweep({"model": {"name": "mlp", "depth": 1, "width": 8}}, experiment=experiment)
    from trainwell.plan import plan

    p = plan(s)
    specs, fixed = p.runs, p.fixed
    store = Store(tmp_path / "runs" / experiment / "results.db")
    store.put_experiment(experiment, axes=[], fixed=fixed, grid=[x.id for x in specs])
    store.add_runs(specs)
    assert store.claim(specs[0].id, owner)
    store._conn.execute("UPDATE runs SET heartbeat=?", (heartbeat,))
    return s, store


def test_a_run_held_by_a_live_driver_is_left_to_it(tmp_path):
    s, store = _store_with(tmp_path, "held", "elsewhere:1:1", time.time())
    outcome = run_sweep(s, root=tmp_path / "runs", workers=1, quiet=True)
    assert outcome.held == 1 and outcome.ran == 0
    assert store.runs("held")[0].status == "running"


def test_a_run_whose_driver_stopped_beating_is_taken_over(tmp_path):
    s, store = _store_with(tmp_path, "stale", "elsewhere:1:1", time.time() - 3600)
    outcome = run_sweep(s, root=tmp_path / "runs", workers=1, quiet=True)
    assert outcome.ran == 1 and store.runs("stale")[0].status == "done"


def test_a_run_held_by_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    s, store = _store_with(tmp_path, "dead", f"{socket.gethostname()}:{gone}:1", time.time())
    outcome = run_sweep(s, root=tmp_path / "runs", workers=1, quiet=True)
    assert outcome.ran == 1 and store.runs("dead")[0].status == "done"


def test_two_drivers_on_one_folder_train_every_run_exactly_once(tmp_path):
    log = tmp_path / "builds.log"
    sweep = tmp_path / "s.toml"
    sweep.write_text(_toml.dumps({**BASE, "sweep": {"experiment": "twice"},
                                  "train": {**BASE["train"], "epochs": 3},
                                  "model": {"name": "factories:counted", "log": str(log),
                                            "tag": list(range(8))}}))
    cmd = [sys.executable, "-m", "trainwell", "compare", str(sweep), "--root",
           str(tmp_path / "runs"), "--workers", "1", "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert _builds(log) == Counter({str(t): 1 for t in range(8)})
    with Store(tmp_path / "runs" / "twice" / "results.db") as store:
        rows = store.runs("twice")
    assert len(rows) == 8 and all(r.status == "done" and r.attempts == 1 for r in rows)
    # each driver says how many runs it trained; together exactly the grid, whichever started first
    trained = [re.search(r"(\d+) run now", out).group(1) for out, _ in outs]
    assert sum(map(int, trained)) == 8, outs


def test_the_local_backend_ends_only_its_own_processes(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        backend = LocalBackend([None], threads=1)
        from trainwell.plan import plan
        from trainwell.run.backend import Task

        spec = plan(_sweep({"train": {**BASE["train"], "epochs": 200}})).runs[0]
        backend.submit(Task(spec.id, spec.recipe))
        backend.poll(0.5)
        backend.cancel()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_runs_write_their_device_and_worker(tmp_path):
    s = _sweep({"model": {"name": "mlp", "depth": 1, "width": 8}})
    outcome = run_sweep(s, root=tmp_path / "runs", workers=1, quiet=True)
    with Store(outcome.folder / "results.db") as store:
        row = store.runs("t")[0]
    assert row.device == "cpu" and row.worker.startswith(socket.gethostname() + ":")
    assert int(row.worker.split(":")[1]) != os.getpid()
    assert row.owner is None and row.status == "done"


@pytest.mark.parametrize("kind", ["plain", "array", "axes"])
def test_set_reaches_every_stored_recipe_in_each_section_form(tmp_path, kind):
    raw = {**BASE, "sweep": {"experiment": kind}, "model": {"name": "mlp", "depth": 1, "width": 8}}
    if kind == "plain":
        raw["optim"] = {"name": "sgd", "lr": [0.1, 0.2]}
        sets, expect = ["optim.lr=0.5", "init.bias=0.25"], 1
    elif kind == "array":
        raw["optim"] = [{"name": "sgd", "lr": 0.1}, {"name": "momentum", "lr": 0.01}]
        sets, expect = ["optim.lr=0.5", "init.bias=0.25"], 2
    else:
        raw["sweep"]["axes"] = {"optim.lr": [0.1, 0.2], "model.width": [4, 8]}
        sets, expect = ["optim.lr=0.5", "init.bias=0.25"], 2
    sweep = tmp_path / "s.toml"
    sweep.write_text(_toml.dumps(raw))
    argv = ["compare", str(sweep), "--root", str(tmp_path / "runs"), "--workers", "2", "--quiet"]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 0
    with Store(tmp_path / "runs" / kind / "results.db") as store:
        rows = store.runs(kind)
    assert len(rows) == expect
    assert all(r.recipe["optim"]["lr"] == 0.5 and r.recipe["init"]["bias"] == 0.25 for r in rows)
    assert all(tomllib.loads((tmp_path / "runs" / kind / r.id / "recipe.toml").read_text())
               ["optim"]["lr"] == 0.5 for r in rows)


class _InterruptedWhileSubmitting:
    """A backend that takes one task, then sees Ctrl-C while handing over the second."""

    name = "interrupted"

    def __init__(self):
        self.taken, self.cancelled = [], False

    def free(self):
        return 2

    def submit(self, task):
        if self.taken:
            raise KeyboardInterrupt
        self.taken.append(task.id)

    def poll(self, timeout):
        return []

    def cancel(self):
        self.cancelled = True

    def close(self):
        pass


def test_ctrl_c_between_claiming_a_run_and_handing_it_over_leaves_no_run_running(tmp_path):
    from trainwell.run.dispatch import Dispatcher
    from trainwell.run_folder import RunFolder

    specs = [RunSpec(i, "e", i, {}, 0, {"i": i}) for i in "abc"]
    backend = _InterruptedWhileSubmitting()
    with Store(tmp_path / "results.db") as store:
        store.add_runs(specs)
        driver = Dispatcher(store, backend, lambda rid: RunFolder(tmp_path / rid), retries=0,
                            stale_after=60)
        assert driver.run(specs, lambda progress: None) is True
        rows = {r.id: r for r in store.runs("e")}
    assert backend.cancelled and backend.taken == ["a"]
    assert {rid: r.status for rid, r in rows.items()} == {
        "a": "interrupted", "b": "interrupted", "c": "pending"}
    assert rows["b"].error == "interrupted by the user" and rows["b"].owner is None
