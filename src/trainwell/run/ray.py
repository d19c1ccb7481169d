"""The Ray backend: each run is a Ray task, on any node of a cluster, collected as it finishes.

``address`` (or ``RAY_ADDRESS``) joins a running cluster (``ray start --head`` on one machine,
``ray start --address HEAD:6379`` on the others); without one, a local Ray instance is started
for the sweep and stopped after it. An existing connection (``ray.init`` done by the caller)
is used as it is and left open.

Each task reserves ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (fractions share a GPU),
sets torch's thread count to its CPUs at its start (Ray reuses worker processes, which keep an
earlier task's setting) and returns the run's outcome by value: nothing is written on the
nodes. Ray's own retries are off: a task lost with its worker or node comes back as
:class:`~trainwell.run.backend.Lost`, and the driver retries it like any other backend's.
Every node needs trainwell installed (the same environment, or Ray's ``runtime_env``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from trainwell.errors import ConfigError, TrainwellError
from trainwell.execute import RunOutcome
from trainwell.run.backend import Event, Finished, Lost, Task, run_task

__all__ = ["RayBackend"]

RESOURCES_EVERY_S = 2.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise TrainwellError("the ray backend needs Ray: pip install 'trainwell[ray]'") from None
    return ray


def _ray_task(task: Task, threads: int, gpu: bool) -> RunOutcome:
    """A run inside a Ray worker: placed on the GPU Ray assigned, if any."""
    import ray

    outcome = run_task(task, slot="cuda" if gpu else None, threads=threads)
    node = ray.get_runtime_context().get_node_id()
    outcome.worker = f"{outcome.worker} node {node[:12]}"
    return outcome


class RayBackend:
    """Runs as Ray tasks; see the module doc."""

    name = "ray"

    def __init__(self, *, address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0, num_cpus: int | None = None) -> None:
        if not cpus_per_run > 0:
            raise ConfigError("cpus_per_run", cpus_per_run, "a number > 0")
        if gpus_per_run < 0:
            raise ConfigError("gpus_per_run", gpus_per_run, "a number >= 0 (fractions share a GPU)")
        _ray()  # fail on a missing Ray before anything is written
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.cpus, self.gpus, self.num_cpus = cpus_per_run, gpus_per_run, num_cpus
        self._ray: Any = None
        self._own = False
        self._remote: Any = None
        self._pending: dict[Any, Task] = {}
        self._capacity = 1
        self._checked = -float("inf")
        self.startup_seconds = 0.0

    def _connect(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = _ray()
        started = time.perf_counter()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False)
            self._own = True
        self.startup_seconds = time.perf_counter() - started
        self._remote = ray.remote(_ray_task).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                                     max_retries=0)
        self._ray = ray
        return ray

    def free(self) -> int:
        ray = self._connect()
        if time.monotonic() - self._checked > RESOURCES_EVERY_S:
            total = ray.cluster_resources()
            fits = int(total.get("CPU", 0) // self.cpus)
            if self.gpus > 0:
                fits = min(fits, int(total.get("GPU", 0) // self.gpus))
            self._capacity = max(1, fits)
            self._checked = time.monotonic()
        return max(0, self._capacity - len(self._pending))

    def submit(self, task: Task) -> None:
        self._connect()
        threads = max(1, int(self.cpus))
        self._pending[self._remote.remote(task, threads, self.gpus > 0)] = task

    def poll(self, timeout: float) -> list[Event]:
        if not self._pending:
            return []
        ray = self._ray
        refs = list(self._pending)
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        events: list[Event] = []
        for ref in ready:
            task = self._pending.pop(ref)
            try:
                events.append(Finished(task.id, ray.get(ref)))
            except ray.exceptions.RayError as exc:  # the worker, its node or the object was lost
                events.append(Lost(task.id, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
        return events

    def cancel(self) -> None:
        if self._ray is not None:
            for ref in self._pending:
                self._ray.cancel(ref, force=True)
        self._pending.clear()

    def close(self) -> None:
        self.cancel()
        if self._own and self._ray is not None:
            self._ray.shutdown()
        self._ray, self._own = None, False
