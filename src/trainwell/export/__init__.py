"""Export an experiment's results to the trackers people already use.

- :func:`export_tensorboard`: one TensorBoard run per trainwell run (scalars, hparams, gradient
  flow), written by ``tensorboardX`` (extra ``tensorboard``);
- :func:`export_mlflow`: one MLflow run per trainwell run (params, metric histories, tags,
  recipe and report as artifacts) in any tracking store (extra ``mlflow``);
- :func:`export_csv`: ``runs.csv`` and ``metrics.csv`` (long format), for pandas or a
  spreadsheet.

All three read the same runs (:mod:`trainwell.export.source`); :data:`TARGETS` names them for
``trainwell export DIR --to TARGET OUT``. For logging while a run trains, see
``train.log_to`` (:mod:`trainwell.loop.tensorboard`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trainwell.export.csv import export_csv
from trainwell.export.mlflow import MlflowExport, export_mlflow
from trainwell.export.source import ExperimentRuns, ExportRun, experiment_runs
from trainwell.export.tensorboard import export_tensorboard

__all__ = ["export_tensorboard", "export_mlflow", "export_csv", "MlflowExport",
           "experiment_runs", "ExperimentRuns", "ExportRun", "TARGETS"]

TARGETS: dict[str, Callable[..., Any]] = {"tensorboard": export_tensorboard,
                                          "mlflow": export_mlflow, "csv": export_csv}
"""Export targets by name: each is ``fn(folder, out, *, experiment=None, ...)``."""
