"""The local backend: runs in worker processes on this machine, one per core or per GPU slot.

1. Each worker is a process of its own (from a fork server that has the imports done) with
   its own pipe: the driver sends it one task at a time and it sends back the epoch progress
   and the run's outcome, so the driver always knows which worker runs what.
2. A worker that dies (SIGKILL, out of memory) fails nobody else: its run is reported
   :class:`~trainwell.run.backend.Lost` (the driver retries it) and a new worker takes its
   place on the next task.
3. Workers ignore Ctrl-C (the driver handles it and stops them) and die with the driver (or
   with the fork server, which dies with the driver).
4. With GPUs, every visible device gets ``runs_per_gpu`` workers, each run pinned to its
   worker's device (:func:`gpu_slots`); without, CPU workers share the cores' threads.
5. :meth:`LocalBackend.cancel` and :meth:`LocalBackend.close` end only the processes this
   backend started.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from trainwell.run.backend import (
    Event,
    Finished,
    Lost,
    Progress,
    Started,
    Task,
    run_task,
    worker_name,
)

__all__ = ["LocalBackend", "gpu_slots", "visible_gpus", "default_workers"]

STOP_GRACE_S = 5.0


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def visible_gpus() -> list[str]:
    """``cuda:0 .. cuda:N-1`` for the CUDA devices this process sees (none without CUDA)."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def gpu_slots(gpus: list[str], runs_per_gpu: int, cpu_workers: int) -> list[str | None]:
    """The device of each worker: ``runs_per_gpu`` workers per GPU, or ``cpu_workers`` CPU
    workers (``None``) when there is no GPU.

    >>> gpu_slots(["cuda:0", "cuda:1"], 2, 8)
    ['cuda:0', 'cuda:0', 'cuda:1', 'cuda:1']
    >>> gpu_slots([], 2, 3)
    [None, None, None]
    """
    if gpus:
        return [g for g in gpus for _ in range(runs_per_gpu)]
    return [None] * cpu_workers


def _context() -> multiprocessing.context.SpawnContext | multiprocessing.context.ForkServerContext:
    """Workers start from a fork server that has imported trainwell and torch once, so a new
    worker is ready in milliseconds instead of paying those imports (seconds) again. The
    server itself never computes, so its children do not inherit a running OpenMP pool, the
    hazard of a plain fork. Where there is no fork server (Windows), workers are spawned."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["trainwell.run.backend"])
    return ctx


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no orphaned workers)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _worker_main(conn: Connection, slot: str | None, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C for everyone
    _die_with_parent()
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if message is None:
            return
        task: Task = message

        def send_progress(info: dict[str, Any], rid: str = task.id) -> None:
            conn.send_bytes(pickle.dumps(("progress", rid, info)))

        outcome = run_task(task, slot=slot, threads=threads, progress=send_progress)
        conn.send_bytes(pickle.dumps(("done", task.id, outcome), protocol=pickle.HIGHEST_PROTOCOL))


@dataclass
class _Worker:
    slot: str | None
    process: BaseProcess | None = None
    conn: Connection | None = None
    task: Task | None = None


class LocalBackend:
    """Worker processes on this machine, one task each at a time.

    ``slots`` gives each worker's device (``None``: CPU); ``threads`` is torch's thread count
    in each worker.
    """

    name = "local"

    def __init__(self, slots: list[str | None], *, threads: int = 1) -> None:
        if not slots:
            raise ValueError("a local backend needs at least one worker slot")
        self._ctx = _context()
        self._workers = [_Worker(slot) for slot in slots]
        self._threads = threads
        self._events: list[Event] = []

    def free(self) -> int:
        return sum(1 for w in self._workers if w.task is None)

    def submit(self, task: Task) -> None:
        worker = next(w for w in self._workers if w.task is None)
        if worker.process is None or not worker.process.is_alive():
            self._start(worker)
        assert worker.conn is not None and worker.process is not None
        worker.conn.send_bytes(pickle.dumps(task))
        worker.task = task
        self._events.append(Started(task.id, worker_name(worker.process.pid), worker.slot))

    def _start(self, worker: _Worker) -> None:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, worker.slot, self._threads),
                                    daemon=True, name="trainwell-worker")
        process.start()
        child.close()
        worker.process, worker.conn = process, parent

    def poll(self, timeout: float) -> list[Event]:
        events, self._events = self._events, []
        busy = [w for w in self._workers if w.task is not None]
        if not busy or events:
            timeout = 0.0
        handles: dict[Any, _Worker] = {}
        for w in busy:
            assert w.conn is not None and w.process is not None
            handles[w.conn] = w
            handles[w.process.sentinel] = w
        ready = wait(list(handles), timeout) if handles else []
        for w in {id(handles[h]): handles[h] for h in ready}.values():
            events.extend(self._drain(w))
        return events

    def _drain(self, w: _Worker) -> list[Event]:
        """Read everything a worker sent; report its run lost if it died without finishing."""
        assert w.conn is not None and w.process is not None and w.task is not None
        out: list[Event] = []
        try:
            while w.task is not None and w.conn.poll():
                kind, rid, payload = pickle.loads(w.conn.recv_bytes())
                if kind == "progress":
                    out.append(Progress(rid, payload))
                else:
                    out.append(Finished(rid, payload))
                    w.task = None
        except (EOFError, OSError):
            pass
        if w.task is not None and not w.process.is_alive():
            w.process.join()
            code = w.process.exitcode
            how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
                   else f"exit code {code}")
            out.append(Lost(w.task.id, f"the worker process {worker_name(w.process.pid)} running "
                                        f"it died ({how})"))
            w.task, w.process, w.conn = None, None, None
        return out

    def cancel(self) -> None:
        """Stop every worker now (their runs are abandoned)."""
        for w in self._workers:
            if w.process is not None and w.process.is_alive():
                w.process.terminate()
        self._join(kill_after=STOP_GRACE_S)

    def close(self) -> None:
        """Let idle workers exit; stop any still busy."""
        for w in self._workers:
            if w.conn is not None and w.task is None:
                try:
                    w.conn.send_bytes(pickle.dumps(None))
                except OSError:
                    pass
        self._join(kill_after=STOP_GRACE_S)

    def _join(self, *, kill_after: float) -> None:
        for w in self._workers:
            if w.process is not None:
                w.process.join(kill_after)
                if w.process.is_alive():
                    w.process.kill()
                    w.process.join()
            if w.conn is not None:
                w.conn.close()
            w.process, w.conn, w.task = None, None, None

