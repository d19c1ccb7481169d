"""The live monitor as a PyTorch Lightning callback: ``Trainer(callbacks=[WatchCallback(every=50)])``.

It drives a :class:`~trainwell.diagnose.Monitor` from Lightning's hooks: the layers are hooked
on measured steps only (``on_train_batch_start``), gradients read before the optimizer step,
the update and the loss after the batch. A symptom named in ``stop_on`` sets
``trainer.should_stop``. Afterwards ``callback.verdicts``, ``callback.table()`` and
``callback.report("watch.html")`` show what was found.

Needs the ``lightning`` extra: ``pip install trainwell[lightning]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from trainwell.diagnose.monitor import Monitor
from trainwell.diagnose.symptoms import LiveVerdict

try:
    from lightning.pytorch import Callback
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("trainwell.integrations.lightning needs PyTorch Lightning: "
                      "pip install 'trainwell[lightning]'") from exc

__all__ = ["WatchCallback"]


class WatchCallback(Callback):
    """Watch a LightningModule while a ``lightning.Trainer`` trains it (see the module doc)."""

    def __init__(self, *, every: int = 50, stop_on: Iterable[str] = (), classes: int | None = None) -> None:
        super().__init__()
        self.monitor = Monitor(every=every, stop_on=stop_on, classes=classes)

    @property
    def verdicts(self) -> list[LiveVerdict]:
        return list(self.monitor.verdicts)

    @property
    def notes(self) -> list[str]:
        return list(self.monitor.notes)

    def on_train_start(self, trainer: Any, pl_module: torch.nn.Module) -> None:
        self.monitor.attach(pl_module)

    def on_train_batch_start(self, trainer: Any, pl_module: torch.nn.Module, batch: Any,
                             batch_idx: int) -> None:
        if trainer.global_step % self.monitor.every == 0:
            self.monitor.arm(trainer.global_step)

    def on_before_optimizer_step(self, trainer: Any, pl_module: torch.nn.Module, optimizer: Any) -> None:
        if self.monitor.armed:
            self.monitor.read_gradients()
            self.monitor.snapshot()

    def on_train_batch_end(self, trainer: Any, pl_module: torch.nn.Module, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self.monitor.add_loss(loss)
        if self.monitor.armed:
            self.monitor.read_update()
            new = self.monitor.close()
            if any(v.kind in self.monitor.stop_on for v in new):
                trainer.should_stop = True

    def on_train_end(self, trainer: Any, pl_module: torch.nn.Module) -> None:
        self.monitor._remove_hooks()

    def table(self) -> Any:
        """A rich table of the verdicts."""
        from trainwell.diagnose.watch import verdict_table

        return verdict_table(self.monitor)

    def report(self, path: str | Path) -> Path:
        """Write the watch page (verdicts, notes, curves) to ``path``."""
        from trainwell.diagnose.watch_page import write_watch_page

        return write_watch_page(self.monitor.to_dict(), Path(path))
