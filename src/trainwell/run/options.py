"""Where and how a sweep's runs execute: the backend options, checked once.

``trainwell compare``'s flags and :func:`trainwell.compare`'s parameters are the same options;
both build one :class:`BackendOptions`, whose checks raise
:class:`~trainwell.errors.ConfigError` naming the parameter (``workers``). The command line
reports it under its flag (``--workers``).

>>> BackendOptions(workers=2).workers
2
>>> BackendOptions(retries=-1)
Traceback (most recent call last):
...
trainwell.errors.ConfigError: retries = -1: expected a whole number >= 0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainwell.errors import ConfigError

if TYPE_CHECKING:
    from trainwell.run.backend import Backend

__all__ = ["BackendOptions", "BACKENDS"]

BACKENDS = ("local", "ray")


def _whole(name: str, value: Any, least: int, what: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(name, value, f"a whole number >= {least}{what}")


def _number(name: str, value: Any, allowed: str, ok: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
        raise ConfigError(name, value, allowed)


@dataclass(frozen=True)
class BackendOptions:
    """``backend``: ``local`` (``workers`` processes, default one per core; ``runs_per_gpu``
    on each visible GPU) or ``ray`` (the cluster at ``address``, else ``RAY_ADDRESS``, else a
    local instance; each run reserves ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs);
    ``retries``: times a run whose worker died is tried again."""

    backend: str = "local"
    workers: int | None = None
    runs_per_gpu: int = 1
    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    retries: int = 2

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError("backend", self.backend, f"one of {', '.join(BACKENDS)}")
        if self.workers is not None:
            _whole("workers", self.workers, 1)
        _whole("runs_per_gpu", self.runs_per_gpu, 1)
        _whole("retries", self.retries, 0)
        if self.address is not None and not isinstance(self.address, str):
            raise ConfigError("address", self.address, "a Ray address (host:port or ray://...)")
        _number("cpus_per_run", self.cpus_per_run, "a number > 0", lambda v: v > 0)
        _number("gpus_per_run", self.gpus_per_run, "a number >= 0 (fractions share a GPU)",
                lambda v: v >= 0)

    def make(self) -> Backend:
        """The backend these options describe."""
        if self.backend == "ray":
            from trainwell.run.ray import RayBackend

            return RayBackend(address=self.address, cpus_per_run=self.cpus_per_run,
                              gpus_per_run=self.gpus_per_run)
        from trainwell.run.local import LocalBackend, default_workers, gpu_slots, visible_gpus

        cores = default_workers()
        slots = gpu_slots(visible_gpus(), self.runs_per_gpu, self.workers or cores)
        return LocalBackend(slots, threads=max(1, cores // len(slots)))
