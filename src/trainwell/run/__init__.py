"""Running sweeps: the driver, the backends it hands runs to, and the results store.

>>> from trainwell.run import make_backend
>>> make_backend("local", workers=2).name
'local'
"""

from __future__ import annotations

from trainwell.errors import ConfigError
from trainwell.run.backend import Backend, Task, placed_device
from trainwell.run.driver import SweepOutcome, plan, run_sweep
from trainwell.run.local import LocalBackend, default_workers, gpu_slots, visible_gpus
from trainwell.run.store import DB_NAME, FINISHED, RunRow, RunSpec, Store, open_store

__all__ = [
    "run_sweep", "SweepOutcome", "plan", "Backend", "Task", "LocalBackend", "make_backend",
    "BACKENDS", "default_workers", "gpu_slots", "visible_gpus", "placed_device", "Store",
    "open_store", "RunRow", "RunSpec", "FINISHED", "DB_NAME",
]

BACKENDS = ("local", "ray")


def make_backend(name: str, *, workers: int | None = None, runs_per_gpu: int = 1,
                 address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0) -> Backend:
    """A backend by name: ``local`` (worker processes here: one per core, or ``runs_per_gpu``
    per visible GPU) or ``ray`` (Ray tasks on a cluster at ``address``, or a local instance)."""
    if name == "local":
        if workers is not None and workers < 1:
            raise ConfigError("--workers", workers, "a whole number >= 1")
        if runs_per_gpu < 1:
            raise ConfigError("--runs-per-gpu", runs_per_gpu, "a whole number >= 1")
        cores = default_workers()
        slots = gpu_slots(visible_gpus(), runs_per_gpu, workers or cores)
        return LocalBackend(slots, threads=max(1, cores // len(slots)))
    if name == "ray":
        from trainwell.run.ray import RayBackend

        return RayBackend(address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    raise ConfigError("--backend", name, f"one of {', '.join(BACKENDS)}")
