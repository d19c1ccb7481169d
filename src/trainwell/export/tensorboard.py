"""Export an experiment to TensorBoard: one TensorBoard run (a subfolder) per trainwell run.

``export_tensorboard("runs/init", "tb")`` writes ``tb/<axis values, seed>--<run id>/`` for
every run of the experiment, holding:

- the scalars the store keeps, under the tags of
  :func:`~trainwell.loop.tensorboard.tensorboard_tag` (``accuracy/val``, ``loss/train``,
  ``loss/step``, ``lr/epoch``, ... and last the per-layer gradient flow where the run
  recorded it); a value that was not finite (a diverged step's loss) is left out;
- its hyperparameters for the HParams tab (the hparams plugin): axis values, seed, status
  and the recipe's key values (:data:`~trainwell.export.source.KEY_VALUES`, less those an
  axis already shows), with the final metrics, test accuracy first, so the tab shows the grid
  as a table and parallel coordinates. A final metric is the last point of its chart
  (``accuracy/test``); only where it is not (a run whose final model is an average or an
  ensemble of snapshots) is it written on its own, as ``result/<name>`` at the last step.

Open it with ``tensorboard --logdir tb``. Event files are written by ``tensorboardX`` (the
``tensorboard`` extra: ``pip install 'trainwell[tensorboard]'``), which needs neither
TensorFlow nor the ``tensorboard`` package; ``torch.utils.tensorboard.SummaryWriter`` would
need the latter. Exporting again replaces each run's folder, so nothing is counted twice;
other folders in ``tb`` are left alone.

>>> export_tensorboard("runs/init", "tb")  # doctest: +SKIP
[PosixPath('tb/init=zeros,model.activation=sigmoid,seed=0--3f0c1e2d4b5a'), ...]
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

from trainwell.export._folders import staged, writable_folder
from trainwell.export.source import ExperimentRuns, ExportRun, read_experiment
from trainwell.loop.tensorboard import (
    add_scalars,
    require_tensorboardx,
    summary_writer,
    tensorboard_tag,
)

__all__ = ["export_tensorboard", "final_tags", "FINAL_PREFIX"]

FINAL_PREFIX = "result/"
"""Tag prefix of the final metrics, the ones the HParams tab shows."""

_STATUS = {"done": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE", "failed": "STATUS_FAILURE",
           "interrupted": "STATUS_ABORTED", "running": "STATUS_RUNNING"}


def export_tensorboard(folder: str | Path, out: str | Path, *,
                       experiment: str | None = None) -> list[Path]:
    """Write one TensorBoard run per run of ``experiment`` (default: the folder's latest) in
    ``folder`` into ``out``; returns the run folders written."""
    require_tensorboardx("--to", "tensorboard")
    source = read_experiment(folder, experiment)
    out = writable_folder(out, option="--to tensorboard")
    hparams = {r.id: r.hparams(source.axes) for r in source.runs}
    tags = final_tags(source)
    experiment_summary = _experiment_summary(hparams, tags)
    with staged(out) as stage:
        for run in source.runs:
            writer = summary_writer(stage / run.folder_name, key="--to")
            try:
                _write_run(writer, run, hparams[run.id], experiment_summary, tags)
            finally:
                writer.close()
    return [out / run.folder_name for run in source.runs]


def final_tags(source: ExperimentRuns) -> dict[str, str]:
    """Each final metric's tag in the HParams tab, test accuracy first: its chart's tag when
    the chart ends on the final value in every run, else ``result/<name>``."""
    names = sorted({k for run in source.runs for k in _final(run)},
                   key=lambda k: (k != "test_acc", not k.startswith("test_"), k))
    tags = {}
    for name in names:
        tag = tensorboard_tag(name)
        ends_there = all(_last_point(run, name) == _float32(_final(run).get(name))
                         for run in source.runs if name in _final(run))
        tags[name] = tag if ends_there else FINAL_PREFIX + name
    return tags


def _float32(value: float | None) -> float | None:
    """``value`` as TensorBoard stores it (float32), to compare with a chart's last point."""
    return None if value is None else float(struct.unpack("f", struct.pack("f", value))[0])


def _last_point(run: ExportRun, name: str) -> float | None:
    steps, values = run.series.get(name, ([], []))
    if not steps or steps[-1] != run.last_step:
        return None
    return _float32(values[-1])


def _write_run(writer: Any, run: ExportRun, hparams: dict[str, Any], experiment: Any,
               tags: dict[str, str]) -> None:
    from tensorboardX.summary import hparams as hparams_summaries  # type: ignore[import-untyped]

    add_scalars(writer, run.rows())
    for name, value in _final(run).items():
        if tags.get(name, "").startswith(FINAL_PREFIX) and math.isfinite(value):
            writer.add_scalar(tags[name], value, global_step=run.last_step)
    _, start, _ = hparams_summaries(hparams, {})
    for summary in (experiment, start, _session_end(run.row.status)):
        writer.file_writer.add_summary(summary)


def _final(run: ExportRun) -> dict[str, float]:
    return {k: float(v) for k, v in run.row.final.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _experiment_summary(hparams: dict[str, dict[str, Any]], tags: dict[str, str]) -> Any:
    """The hparams plugin's experiment: every hyperparameter any run has (typed by its first
    value) and every final metric's tag, written into each run so TensorBoard finds it
    whichever run it reads first."""
    from tensorboardX.summary import hparams as hparams_summaries

    union: dict[str, Any] = {}
    for values in hparams.values():
        for key, value in values.items():
            union.setdefault(key, value)
    experiment, _, _ = hparams_summaries(union, {tag: 0.0 for tag in tags.values()})
    return experiment


def _session_end(status: str) -> Any:
    """The hparams plugin's end-of-session record, with the run's status."""
    from tensorboardX.proto.api_pb2 import Status  # type: ignore[import-untyped]
    from tensorboardX.proto.plugin_hparams_pb2 import (  # type: ignore[import-untyped]
        HParamsPluginData,
        SessionEndInfo,
    )
    from tensorboardX.proto.summary_pb2 import (  # type: ignore[import-untyped]
        Summary,
        SummaryMetadata,
    )

    info = SessionEndInfo(status=Status.Value(_STATUS.get(status, "STATUS_UNKNOWN")))
    content = HParamsPluginData(session_end_info=info, version=0).SerializeToString()
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams",
                                                                      content=content))
    return Summary(value=[Summary.Value(tag="_hparams_/session_end_info", metadata=metadata)])
