"""The in-process backend: runs one task at a time in the calling process.

``trainwell train`` and :func:`trainwell.train` use it: the run goes through the same driver as
a sweep's (the same checks, the same run folder, the same store), and its trainer callbacks
(a progress bar) and trained model stay in this process. A failing run is recorded like any
other; Ctrl-C reaches the driver, which records the run ``interrupted``.

>>> InProcessBackend().free()
1
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from trainwell.execute import RunOutcome
from trainwell.loop import Callback, resolve_device
from trainwell.run.backend import Event, Finished, Started, Task, run_task, worker_name

__all__ = ["InProcessBackend"]


class InProcessBackend:
    """Executes each submitted task when polled, here.

    ``callbacks`` are added to every run's trainer; ``keep_model`` keeps each trained model on
    its outcome (:attr:`outcomes` holds them by run id). ``threads``: torch threads for the
    runs, torch's own setting restored after each (0: the runs set their own and it stays;
    small runs of a race on a busy machine are fastest on one).
    """

    name = "inprocess"

    def __init__(self, *, callbacks: Sequence[Callback] = (), keep_model: bool = False,
                 threads: int = 0) -> None:
        self.callbacks, self.keep_model, self.threads = list(callbacks), keep_model, threads
        auto = str(resolve_device("auto"))
        self.slot = None if auto == "cpu" else auto
        self.outcomes: dict[str, RunOutcome] = {}
        self._queue: list[Task] = []

    def free(self) -> int:
        return 0 if self._queue else 1

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def poll(self, timeout: float) -> list[Event]:
        if not self._queue:
            return []
        task = self._queue.pop(0)
        before = torch.get_num_threads()
        try:
            outcome = run_task(task, slot=self.slot, threads=self.threads,
                               callbacks=self.callbacks, keep_model=self.keep_model)
        finally:
            if self.threads:
                torch.set_num_threads(before)
        self.outcomes[task.id] = outcome
        return [Started(task.id, worker_name(), outcome.device), Finished(task.id, outcome)]

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()
