"""Log a run to TensorBoard while it trains (``train.log_to = "tensorboard"``).

:class:`TensorBoardLogger` is a trainer callback that writes, at the end of every epoch, the
metrics a run records (:meth:`~trainwell.loop.History.metric_rows`) under the tags of
:func:`tensorboard_tag`, grouped so that TensorBoard opens the accuracy and loss charts first:
``accuracy/train``, ``accuracy/val``, ``accuracy/test`` and ``loss/train``, ``loss/val``,
``loss/test`` at the step each epoch ended, ``loss/step`` at every optimizer step, ``lr/epoch``
and (under a schedule) ``lr/step``, and last, with a gradient-flow recorder,
``per_layer_grad_norm/<layer>`` and ``per_layer_act_std/<layer>``. A run logged live and the
same run exported later (``trainwell export --to tensorboard``) show the same charts. A value
that was not finite (the loss of the step a run diverged at) is left out.

Event files are written by ``tensorboardX`` (the ``tensorboard`` extra:
``pip install 'trainwell[tensorboard]'``), which needs neither TensorFlow nor the
``tensorboard`` package; ``torch.utils.tensorboard.SummaryWriter`` would need the latter.
Open them with ``tensorboard --logdir DIR`` (from ``pip install tensorboard``).

>>> import tempfile, torch
>>> from trainwell.data import load_dataset
>>> from trainwell.models import build_model
>>> from trainwell.loop import fit
>>> ds = load_dataset("digits")
>>> model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> log_dir = Path(tempfile.mkdtemp())
>>> history = fit(model, ds, opt, epochs=1, batch_size=64,
...               callbacks=[TensorBoardLogger(log_dir)])
>>> [p.name.split(".")[0] for p in log_dir.iterdir()]
['events']
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from trainwell.callback_order import ORDER
from trainwell.errors import ConfigError
from trainwell.loop.events import Callback, TrainState

__all__ = ["TensorBoardLogger", "require_tensorboardx", "summary_writer", "add_scalars",
           "LOG_TO", "tensorboard_tag"]

LOG_TO = ("tensorboard",)
"""The values ``train.log_to`` takes."""


class LayerMetrics(Protocol):
    """What the logger reads per-layer metrics from (a gradient-flow recorder): its rows so
    far as ``(step, name, value)``."""

    def metric_rows(self) -> list[tuple[int, str, float | None]]: ...


def require_tensorboardx(key: str, value: object = "tensorboard") -> None:
    """Raise :class:`ConfigError` naming ``key`` when ``tensorboardX`` is not installed."""
    if importlib.util.find_spec("tensorboardX") is None:
        raise ConfigError(key, value, "tensorboardX installed, which writes TensorBoard's event "
                          "files: pip install 'trainwell[tensorboard]'")


def summary_writer(log_dir: str | Path, *, key: str = "train.log_to") -> Any:
    """A ``tensorboardX.SummaryWriter`` into ``log_dir``; ``key`` names the setting that asked
    for it in the message when ``tensorboardX`` is missing."""
    require_tensorboardx(key)
    from tensorboardX import SummaryWriter  # type: ignore[import-untyped]

    return SummaryWriter(logdir=str(log_dir), flush_secs=30)


_SPLIT_METRIC = re.compile(r"^(train|val|test)_(loss|acc)(_\w+)?$")
_RENAMED = {"loss": "loss/step", "lr": "lr/epoch", "step_lr": "lr/step", "seconds": "time/seconds",
            "grad_norm/": "per_layer_grad_norm/", "act_std/": "per_layer_act_std/"}


def tensorboard_tag(name: str) -> str:
    """The TensorBoard tag of the store's metric ``name``.

    TensorBoard groups a run's charts by the part of the tag before the first ``/`` and sorts
    the groups by name (opening the first), so the tags put accuracy and loss first and the
    per-layer charts last.

    >>> [tensorboard_tag(n) for n in ("val_acc", "test_loss", "test_acc_raw", "loss", "lr")]
    ['accuracy/val', 'loss/test', 'accuracy/test_raw', 'loss/step', 'lr/epoch']
    >>> tensorboard_tag("grad_norm/features.0")
    'per_layer_grad_norm/features.0'
    """
    match = _SPLIT_METRIC.match(name)
    if match:
        split, metric, suffix = match.groups()
        return f"{'accuracy' if metric == 'acc' else 'loss'}/{split}{suffix or ''}"
    for old, new in _RENAMED.items():
        if name == old or (old.endswith("/") and name.startswith(old)):
            return new + name[len(old):]
    return name


def add_scalars(writer: Any, rows: Iterable[tuple[int, str, float | None]]) -> int:
    """Write ``(step, name, value)`` rows as scalars under :func:`tensorboard_tag` of each name
    and return how many. ``None`` (a value that was not finite, like a diverged step's loss)
    is left out: TensorBoard draws no NaN."""
    n = 0
    for step, name, value in rows:
        if value is not None and math.isfinite(value):
            writer.add_scalar(tensorboard_tag(name), float(value), global_step=step)
            n += 1
    return n


class TensorBoardLogger(Callback):
    """A callback that writes a run's metrics as TensorBoard events into ``log_dir``.

    Everything recorded so far is written (and flushed) at the end of each epoch, and the rest
    when training ends, so no step waits on the disk or on a device sync. ``gradient_flow``: a
    recorder whose ``metric_rows()`` are per-layer gradient norms and activation stds
    (:class:`~trainwell.diagnose.GradientFlowRecorder`). The folder holds the events of one
    training: earlier event files in it are removed when training starts, and a resumed run
    writes its restored history again.
    """

    order = ORDER["tensorboard"]

    def __init__(self, log_dir: str | Path, *, gradient_flow: LayerMetrics | None = None) -> None:
        require_tensorboardx("train.log_to")
        self.log_dir = Path(log_dir)
        self.gradient_flow = gradient_flow
        self._writer: Any = None
        self._epochs = 0

    def before_fit(self, state: TrainState) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("events.out.tfevents.*"):
            old.unlink()
        self._writer = summary_writer(self.log_dir)
        self._epochs = 0

    def after_epoch(self, state: TrainState) -> None:
        self._write(state)

    def after_fit(self, state: TrainState) -> None:
        if self._writer is None:
            return
        try:
            self._write(state)
        finally:
            self._writer.close()
            self._writer = None

    def _write(self, state: TrainState) -> None:
        if self._writer is None:
            return
        history = state.history
        layers = self.gradient_flow.metric_rows() if self.gradient_flow is not None else []
        add_scalars(self._writer, history.metric_rows(layer_rows=layers, from_epoch=self._epochs))
        self._epochs = len(history.epochs)
        self._writer.flush()
