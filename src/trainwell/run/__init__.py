"""Running sweeps: the driver, the backends it hands runs to, and the results store.

>>> from trainwell.run import make_backend
>>> make_backend("local", workers=2).name
'local'
"""

from __future__ import annotations

from trainwell.plan import RunSpec
from trainwell.run.backend import Backend, Task, placed_device
from trainwell.run.driver import Destination, SweepOutcome, run_plan, run_sweep
from trainwell.run.inprocess import InProcessBackend
from trainwell.run.local import LocalBackend, default_workers, gpu_slots, visible_gpus
from trainwell.run.options import BACKENDS, BackendOptions
from trainwell.run.store import FINISHED, Store, open_store
from trainwell.run.store_check import DB_NAME
from trainwell.run.store_read import RunRow

__all__ = [
    "run_sweep", "run_plan", "Destination", "SweepOutcome", "Backend", "Task", "LocalBackend",
    "InProcessBackend", "make_backend", "BackendOptions", "BACKENDS", "default_workers",
    "gpu_slots", "visible_gpus", "placed_device", "Store", "open_store", "RunRow", "RunSpec",
    "FINISHED", "DB_NAME",
]

def make_backend(name: str = "local", *, workers: int | None = None, runs_per_gpu: int = 1,
                 address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0) -> Backend:
    """A backend by name: ``local`` (worker processes here: one per core, or ``runs_per_gpu``
    per visible GPU) or ``ray`` (Ray tasks on a cluster at ``address``, or a local instance);
    see :class:`BackendOptions`."""
    return BackendOptions(name, workers=workers, runs_per_gpu=runs_per_gpu, address=address,
                          cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run).make()
