"""Export an experiment to TensorBoard: one TensorBoard run (a subfolder) per trainwell run.

``export_tensorboard("runs/init", "tb")`` writes ``tb/<axis values, seed>--<run id>/`` for
every run of the experiment, holding:

- the scalars the store keeps, under its names: ``loss`` at every optimizer step, every
  per-epoch metric (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, ``test_*``,
  ``lr``, ``seconds``) at the step its epoch ended, ``step_lr`` under a schedule, and the
  gradient flow per layer (``grad_norm/<layer>``, ``act_std/<layer>``) where the run recorded
  it; a value that was not finite (a diverged step's loss) is left out;
- the final metrics as ``final/<name>`` at the run's last step;
- its hyperparameters for the HParams tab (the hparams plugin): axis values, seed, status
  and the recipe's key values (:data:`~trainwell.export.source.KEY_VALUES`), with the final
  metrics, so the tab shows the grid as a table and parallel coordinates.

Open it with ``tensorboard --logdir tb``. Event files are written by ``tensorboardX`` (the
``tensorboard`` extra: ``pip install 'trainwell[tensorboard]'``), which needs neither
TensorFlow nor the ``tensorboard`` package; ``torch.utils.tensorboard.SummaryWriter`` would
need the latter. Exporting again replaces each run's folder, so nothing is counted twice;
other folders in ``tb`` are left alone.

>>> export_tensorboard("runs/init", "tb")  # doctest: +SKIP
[PosixPath('tb/init=zeros,model.activation=sigmoid,seed=0--3f0c1e2d4b5a'), ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainwell.export._folders import staged, writable_folder
from trainwell.export.source import ExperimentRuns, ExportRun, experiment_runs
from trainwell.loop.tensorboard import add_scalars, require_tensorboardx, summary_writer

__all__ = ["export_tensorboard", "FINAL_PREFIX"]

FINAL_PREFIX = "final/"
"""Tag prefix of the final metrics, the ones the HParams tab shows."""

_STATUS = {"done": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE", "failed": "STATUS_FAILURE",
           "interrupted": "STATUS_ABORTED", "running": "STATUS_RUNNING"}


def export_tensorboard(folder: str | Path, out: str | Path, *,
                       experiment: str | None = None) -> list[Path]:
    """Write one TensorBoard run per run of ``experiment`` (default: the folder's latest) in
    ``folder`` into ``out``; returns the run folders written."""
    require_tensorboardx("--to", "tensorboard")
    source = experiment_runs(folder, experiment)
    out = writable_folder(out, option="--to tensorboard")
    hparams = {r.id: r.hparams(source.axes) for r in source.runs}
    experiment_summary = _experiment_summary(source, hparams)
    with staged(out) as stage:
        for run in source.runs:
            writer = summary_writer(stage / run.folder_name, key="--to")
            try:
                _write_run(writer, run, hparams[run.id], experiment_summary)
            finally:
                writer.close()
    return [out / run.folder_name for run in source.runs]


def _write_run(writer: Any, run: ExportRun, hparams: dict[str, Any], experiment: Any) -> None:
    from tensorboardX.summary import hparams as hparams_summaries  # type: ignore[import-untyped]

    add_scalars(writer, run.rows())
    final = _final(run)
    add_scalars(writer, ((run.last_step, FINAL_PREFIX + k, v) for k, v in final.items()))
    _, start, _ = hparams_summaries(hparams, {})
    for summary in (experiment, start, _session_end(run.row.status)):
        writer.file_writer.add_summary(summary)


def _final(run: ExportRun) -> dict[str, float]:
    return {k: float(v) for k, v in run.row.final.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _experiment_summary(source: ExperimentRuns, hparams: dict[str, dict[str, Any]]) -> Any:
    """The hparams plugin's experiment: every hyperparameter any run has (typed by its first
    value) and every final metric, written into each run so TensorBoard finds it whichever run
    it reads first."""
    from tensorboardX.summary import hparams as hparams_summaries

    union: dict[str, Any] = {}
    for values in hparams.values():
        for key, value in values.items():
            union.setdefault(key, value)
    metrics = {FINAL_PREFIX + k: 0.0 for run in source.runs for k in _final(run)}
    experiment, _, _ = hparams_summaries(union, metrics)
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
