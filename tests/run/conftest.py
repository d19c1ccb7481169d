import os
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # "factories:<name>" in recipes, here and in spawned workers
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="session")
def ray_cluster():
    """One Ray instance for the whole test session: two nodes of one CPU each, no dashboard.

    Tests may remove the second node; ``ray_cluster.ensure_two_nodes()`` adds it back.
    """
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()

    def ensure_two_nodes():
        if len(cluster.worker_nodes) < 1:
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()

    cluster.ensure_two_nodes = ensure_two_nodes
    yield cluster
    ray.shutdown()
    cluster.shutdown()
