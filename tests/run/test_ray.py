"""The Ray backend against the local one, on a two-node Ray cluster on this machine."""

import hashlib
import re
import threading
import time

import pytest

from trainwell.cli import main
from trainwell.errors import TrainwellError
from trainwell.run import LocalBackend, run_sweep
from trainwell.run.store import Store
from trainwell.sweep import Sweep

pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one worker, one shared Ray instance

BASE = {"data": {"name": "digits"}, "model": {"name": "mlp", "depth": 2, "width": 32},
        "optim": {"name": "momentum", "lr": 0.05}, "train": {"epochs": 3, "threads": 1}}


def _sweep(experiment, seeds=4, **train):
    return Sweep.from_dict({**BASE, "train": {**BASE["train"], **train},
                            "sweep": {"seeds": seeds}}, experiment=experiment)


def _fingerprints(folder, experiment):
    with Store(folder / "results.db") as store:
        rows = store.runs(experiment)
    out = {}
    for r in rows:
        digest = hashlib.sha256((folder / r.id / "weights.safetensors").read_bytes()).hexdigest()
        out[r.id] = (r.status, digest, r.final)
    return out, rows


def test_the_same_sweep_through_local_and_ray_is_bit_identical(ray_cluster, tmp_path):
    from trainwell.run.ray import RayBackend

    local = run_sweep(_sweep("same"), root=tmp_path / "local",
                      backend=LocalBackend([None], threads=1), quiet=True)
    remote = run_sweep(_sweep("same"), root=tmp_path / "ray", backend=RayBackend(), quiet=True)
    a, _ = _fingerprints(local.folder, "same")
    b, rows = _fingerprints(remote.folder, "same")
    assert len(a) == 4 and a == b
    assert all(s == "done" for s, _, _ in a.values())
    assert all(" node " in r.worker for r in rows)


def test_the_ray_tests_share_one_worker_under_xdist(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("runs under pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@ray")


def test_runs_land_on_both_nodes_and_the_store_holds_each_once(ray_cluster, tmp_path):
    from trainwell.run.ray import RayBackend

    ray_cluster.ensure_two_nodes()
    outcome = run_sweep(_sweep("spread", seeds=6, epochs=15), root=tmp_path,
                        backend=RayBackend(), quiet=True)
    with Store(outcome.folder / "results.db") as store:
        rows = store.runs("spread")
        ids = [r[0] for r in store._conn.execute("SELECT id FROM runs")]
    assert len(ids) == len(set(ids)) == 6
    assert all(r.status == "done" and r.attempts == 1 for r in rows)
    assert len({r.worker.split(" node ")[1] for r in rows}) == 2


def test_a_node_removed_mid_sweep_loses_no_run(ray_cluster, tmp_path):
    from trainwell.run.ray import RayBackend

    ray_cluster.ensure_two_nodes()
    node = ray_cluster.worker_nodes[0] if hasattr(ray_cluster.worker_nodes, "__getitem__") \
        else next(iter(ray_cluster.worker_nodes))
    db = tmp_path / "gone" / "results.db"

    def remove_when_busy():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    with Store(db, readonly=True) as store:
                        rows = store.runs("gone")
                except TrainwellError:  # the driver is still creating the store's tables
                    time.sleep(0.2)
                    continue
                # two runs finished and the two that replaced them in flight: both one-CPU
                # nodes are busy with runs that have just started (the first two start and
                # end together, so the one left after the first finishes is nearly done)
                if sum(r.status == "done" for r in rows) >= 2 and \
                        sum(r.status == "running" for r in rows) == 2:
                    time.sleep(0.5)  # both tasks reach their nodes
                    break
            time.sleep(0.2)
        ray_cluster.remove_node(node)

    killer = threading.Thread(target=remove_when_busy)
    killer.start()
    try:
        outcome = run_sweep(_sweep("gone", seeds=6, epochs=120), root=tmp_path,
                            backend=RayBackend(), quiet=True)
    finally:
        killer.join()
        ray_cluster.ensure_two_nodes()
    with Store(outcome.folder / "results.db") as store:
        rows = store.runs("gone")
    assert len(rows) == 6 and all(r.status == "done" for r in rows)
    assert outcome.ran == 6
    assert max(r.attempts for r in rows) == 2  # the run on the removed node was tried again
    assert all((outcome.folder / r.id / "weights.safetensors").is_file() for r in rows)


def test_compare_with_the_ray_backend_prints_the_same_table_as_local(ray_cluster, tmp_path, capsys):
    tables = []
    for backend in ("local", "ray"):
        code = main(["compare", "--data", "digits", "--init", "zeros,he_normal", "--seeds", "1",
                     "--set", "train.epochs=2", "--set", "model.depth=1", "--set", "model.width=16",
                     "--root", str(tmp_path / backend), "--backend", backend, "--quiet"])
        assert code == 0
        out = capsys.readouterr().out
        tables.append(_without_timing(out[:out.index("runs (")]))
    assert tables[0] == tables[1] and "he_normal" in str(tables[0])


def _without_timing(table: str) -> list[list[str]]:
    """The printed table's cells, row by row, without the training-time column (the one
    number that differs between two runs of the same recipe) and the borders."""
    rows = [[c.strip() for c in re.split("[│┃]", line)] for line in table.splitlines()
            if not set(line.strip()) <= set("━─┏┓┗┛┡┩└┘┳┻╇┼┴┬ ")]
    header = next(r for r in rows if "time/run (s)" in r)
    drop = header.index("time/run (s)")
    return [[c for i, c in enumerate(r) if i != drop] if len(r) == len(header) else r
            for r in rows]
