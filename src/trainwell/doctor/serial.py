"""A backend that runs each task in this process, one at a time: for a small race on a busy
machine, where starting worker processes would cost more than the runs themselves."""

from __future__ import annotations

from collections import deque

import torch

from trainwell.run.backend import Event, Finished, Started, Task, run_task, worker_name

__all__ = ["SerialBackend"]


class SerialBackend:
    """Runs the submitted tasks here, in order; ``poll`` runs one and reports it finished.

    ``threads``: torch threads for the runs (0: leave torch's setting; small runs are fastest on
    one); the previous setting is restored after each run.
    """

    name = "serial"

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self._queue: deque[Task] = deque()

    def free(self) -> int:
        return 0 if self._queue else 1

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def poll(self, timeout: float) -> list[Event]:
        if not self._queue:
            return []
        task = self._queue.popleft()
        before = torch.get_num_threads()
        try:
            outcome = run_task(task, threads=self.threads or before)
        finally:
            torch.set_num_threads(before)
        return [Started(task.id, worker_name(), outcome.device), Finished(task.id, outcome)]

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()
