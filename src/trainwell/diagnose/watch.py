"""Watch any training loop: ``mon = watch(model, optimizer=opt, every=50)``, then ``mon.step(loss)``.

The :class:`Watch` drives a :class:`~trainwell.diagnose.monitor.Monitor` from the user's own
loop. Given the ``optimizer``, it reads gradients and updates from the optimizer's step hooks,
so ``mon.step(loss)`` only adds the loss (and, with ``output`` and ``target``, the accuracy);
without ``mon.step`` at all the gradient, unit and update checks still run, counted by the
optimizer's steps. Without an optimizer, ``mon.step(loss)`` after each ``optimizer.step()``
counts the steps and measures the update from a copy of the weights taken before.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
>>> opt = torch.optim.SGD(net.parameters(), lr=1e-9)
>>> mon = watch(net, optimizer=opt, every=5)
>>> for _ in range(20):
...     x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
...     loss = nn.functional.cross_entropy(net(x), y)
...     opt.zero_grad(); loss.backward(); opt.step()
...     _ = mon.step(loss)
>>> [v.kind for v in mon.verdicts]
['lr_low']
>>> mon.close()
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from trainwell.diagnose.monitor import Monitor
from trainwell.diagnose.symptoms import LiveVerdict

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["watch", "Watch", "verdict_table"]


def watch(model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None, every: int = 50,
          stop_on: Iterable[str] = (), classes: int | None = None) -> Watch:
    """Start watching ``model`` (and ``optimizer``) in any training loop; see :class:`Watch`."""
    return Watch(model, optimizer=optimizer, every=every, stop_on=stop_on, classes=classes)


class Watch:
    """A monitor in the user's loop: ``step``, ``verdicts``, ``should_stop``, ``table``, ``report``.

    ``should_stop`` turns true once a symptom named in ``stop_on`` holds; the loop decides
    what to do (a monitor never raises into the user's training).
    """

    def __init__(self, model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
                 every: int = 50, stop_on: Iterable[str] = (), classes: int | None = None) -> None:
        if not isinstance(model, nn.Module):
            from trainwell.errors import ConfigError

            raise ConfigError("model", type(model).__name__, "a torch.nn.Module")
        self.model, self.optimizer = model, optimizer
        self.monitor = Monitor(every=every, stop_on=stop_on, classes=classes)
        self.monitor.attach(model)
        self.step_count = 0
        self._pending = False
        self._correct: torch.Tensor | None = None
        self._seen = 0
        self._hooks: list[Any] = []
        if optimizer is not None:
            self._hooks = [optimizer.register_step_pre_hook(self._before_update),
                           optimizer.register_step_post_hook(self._after_update)]
        self._arm()

    @property
    def verdicts(self) -> list[LiveVerdict]:
        """The verdicts so far, oldest first (a step the optimizer took is judged first)."""
        if self._pending:
            self._advance()
        return list(self.monitor.verdicts)

    @property
    def notes(self) -> list[str]:
        """Layers whose activation is not known, and so not judged for dead or saturated units."""
        return list(self.monitor.notes)

    @property
    def should_stop(self) -> bool:
        return any(v.kind in self.monitor.stop_on for v in self.verdicts)

    def step(self, loss: torch.Tensor | float | None = None, *, output: torch.Tensor | None = None,
             target: torch.Tensor | None = None) -> list[LiveVerdict]:
        """Count one training step (call it after ``optimizer.step()``); returns the verdicts new
        at it. ``output`` (logits) and ``target`` add the training accuracy's check against chance."""
        if loss is not None:
            self.monitor.add_loss(loss)
        if output is not None and target is not None and output.dim() == 2:
            hits = (output.detach().argmax(1) == target).sum()
            self._correct = hits if self._correct is None else self._correct + hits
            self._seen += len(target)
            if self.monitor.classes is None:
                self.monitor.classes = output.shape[1]
        if self.optimizer is None and self.monitor.armed:
            self.monitor.read_gradients()
            self.monitor.read_update()
        return self._advance()

    def table(self) -> Table:
        """A rich table of the verdicts (step, symptom, layer, what was seen, the fix)."""
        self.verdicts  # noqa: B018  (judges a pending step)
        return verdict_table(self.monitor, steps=self.step_count)

    def report(self, path: str | Path) -> Path:
        """Write a self-contained HTML page of the verdicts, notes and curves to ``path``."""
        from trainwell.diagnose.watch_page import write_watch_page

        self.verdicts  # noqa: B018  (judges a pending step)
        return write_watch_page(self.monitor.to_dict(), Path(path))

    def close(self) -> None:
        """Remove every hook from the model and the optimizer."""
        self.monitor._remove_hooks()
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _before_update(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._pending:  # the loop does not call step(): the optimizer counts the steps
            self._advance()
        if self.monitor.armed:
            self.monitor.read_gradients()
            self.monitor.snapshot()

    def _after_update(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self.monitor.armed:
            self.monitor.read_update()
        self._pending = True

    def _advance(self) -> list[LiveVerdict]:
        self._pending = False
        new: list[LiveVerdict] = []
        if self.monitor.armed:
            acc = None
            if self._correct is not None and self._seen:
                acc, self._correct, self._seen = float(self._correct) / self._seen, None, 0
            new = self.monitor.close(train_acc=acc if self.step_count >= 2 * self.monitor.every else None)
        self.step_count += 1
        if self.step_count % self.monitor.every == 0:
            self._arm()
        return new

    def _arm(self) -> None:
        self.monitor.arm(self.step_count)
        if self.optimizer is None:
            self.monitor.snapshot()


def verdict_table(monitor: Monitor, *, steps: int | None = None) -> Table:
    """A rich table of ``monitor``'s verdicts, its notes as the caption."""
    from rich.table import Table

    seen = f"{steps} steps, " if steps is not None else ""
    table = Table(title=f"watch: {seen}measured every {monitor.every}",
                  caption="\n".join(monitor.notes) or None, caption_justify="left")
    for col in ("step", "symptom", "layer", "seen", "fix"):
        table.add_column(col, justify="right" if col == "step" else "left")
    for v in monitor.verdicts:
        table.add_row(str(v.step), v.kind, v.layer or "—", v.message, v.fix)
    if not monitor.verdicts:
        table.add_row("—", "healthy", "—", "no symptom held", "")
    return table
