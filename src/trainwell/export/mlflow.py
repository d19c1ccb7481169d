"""Export an experiment to MLflow: one MLflow experiment, one MLflow run per trainwell run.

``export_mlflow("runs/init", "sqlite:///mlflow.db")`` logs, into the MLflow experiment named
after the trainwell experiment (created if missing), one run per trainwell run with

- params: the resolved recipe flattened to dotted keys (``optim.lr``, ``model.activation``;
  lists as JSON), and ``run_id``;
- metrics with their steps: ``loss`` at every optimizer step, every per-epoch metric at the
  step its epoch ended, ``step_lr`` under a schedule, the gradient flow per layer where it
  was recorded, and the final metrics as ``final/<name>`` (a value that was not finite is NaN);
- tags: ``status``, ``label`` and each axis's value under the axis key, the error of a
  failed run, and ``trainwell.run_id``, ``trainwell.experiment``;
- artifacts: the run's ``recipe.toml`` and the experiment's ``report.html`` (written first
  if the folder has none).

The MLflow run's status follows the trainwell run's (done and diverged: FINISHED, failed:
FAILED, interrupted: KILLED), its start and end times are the run's. Exporting again does not
duplicate runs: a run already exported whole with the same status is skipped, and one whose
status changed (or whose export was cut short) is replaced. Any tracking URI works:
``sqlite:///path/mlflow.db`` (a new experiment's artifacts then go to ``mlartifacts`` beside
the database unless ``artifact_root`` says otherwise), ``http://host:5000``, a folder. View it
with ``mlflow ui --backend-store-uri sqlite:///path/mlflow.db``. Needs the ``mlflow`` extra:
``pip install 'trainwell[mlflow]'`` (``mlflow-skinny``, ``sqlalchemy``, ``alembic``).

>>> export_mlflow("runs/init", "sqlite:///mlflow.db")  # doctest: +SKIP
MlflowExport(experiment_id='1', created=36, replaced=0, unchanged=0)
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from trainwell import _toml
from trainwell.errors import ConfigError, TrainwellError
from trainwell.export._folders import writable_folder
from trainwell.export.source import ExperimentRuns, ExportRun, read_experiment

__all__ = ["export_mlflow", "MlflowExport", "flatten", "RUN_ID_TAG", "FINAL_PREFIX"]

FINAL_PREFIX = "final/"
"""Metric-name prefix of the final model's metrics, one value each at the run's last step."""

RUN_ID_TAG = "trainwell.run_id"
_COMPLETE_TAG = "trainwell.exported"
_STATUS = {"done": "FINISHED", "diverged": "FINISHED", "failed": "FAILED",
           "interrupted": "KILLED", "running": "RUNNING", "pending": "SCHEDULED"}
_MAX_PARAM = 6000  # MLflow's longest param value; a longer one is cut
_MAX_TAG = 5000


@dataclass(frozen=True)
class MlflowExport:
    """What an export did: the MLflow experiment's id, and how many runs it created, replaced
    (exported before, status changed) and left unchanged."""

    experiment_id: str
    created: int
    replaced: int
    unchanged: int


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested recipe as ``{dotted.key: text}``: strings as they are, everything else as JSON.

    >>> flatten({"optim": {"name": "sgd", "lr": 0.1}, "model": {"channels": [8, 16]}})
    {'optim.name': 'sgd', 'optim.lr': '0.1', 'model.channels': '[8, 16]'}
    """
    out: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value if isinstance(value, str) else json.dumps(value)
    return out


def export_mlflow(folder: str | Path, uri: str, *, experiment: str | None = None,
                  artifact_root: str | Path | None = None) -> MlflowExport:
    """Log every run of ``experiment`` (default: the folder's latest) in ``folder`` to the
    MLflow tracking server or store at ``uri``."""
    source = read_experiment(folder, experiment)
    client, errors = _client(uri)
    try:
        return _export(client, source, uri, artifact_root)
    except errors as exc:
        raise TrainwellError(f"--to mlflow {uri}: {exc}") from None


def _client(uri: str) -> tuple[Any, tuple[type[BaseException], ...]]:
    """An MLflow client of ``uri`` and the exceptions MLflow raises for it."""
    db = _sqlite_file(uri)
    if db is not None:
        writable_folder(db.parent, option="--to mlflow")
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    except ImportError as exc:
        missing = (exc.name or "mlflow").split(".")[0]
        raise ConfigError("--to", "mlflow", f"MLflow installed ({missing} is missing): "
                          "pip install 'trainwell[mlflow]'") from None
    except MlflowException as exc:
        raise ConfigError("--to mlflow", uri, f"a tracking URI MLflow can open ({exc.message})") from None
    return client, (MlflowException, OSError)


def _export(client: Any, source: ExperimentRuns, uri: str,
            artifact_root: str | Path | None) -> MlflowExport:
    from trainwell.report.html import REPORT_NAME, write_report

    experiment_id = _experiment_id(client, source.name, _artifact_root(uri, artifact_root))
    report = source.folder / REPORT_NAME
    if not report.is_file():
        write_report(source.folder, experiment=source.name)
    existing = {r.data.tags.get(RUN_ID_TAG): r for r in _search(client, experiment_id)}
    created = replaced = unchanged = 0
    for run in source.runs:
        old = existing.get(run.id)
        if old is not None and old.data.tags.get(_COMPLETE_TAG) == "true" \
                and old.data.tags.get("status") == run.row.status:
            unchanged += 1
            continue
        if old is not None:
            client.delete_run(old.info.run_id)
            replaced += 1
        else:
            created += 1
        _log_run(client, experiment_id, source, run, report)
    return MlflowExport(experiment_id, created, replaced, unchanged)


def _artifact_root(uri: str, given: str | Path | None) -> str | None:
    """Where a new experiment keeps its artifacts: ``given``, or ``mlartifacts`` beside a
    SQLite database; ``None`` lets the tracking server choose."""
    if given is not None:
        return Path(given).resolve().as_uri()
    db = _sqlite_file(uri)
    return (db.parent / "mlartifacts").resolve().as_uri() if db is not None else None


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (SQLAlchemy's form: ``sqlite:///rel.db``
    relative to the working folder, ``sqlite:////abs/path.db`` absolute); ``None`` for
    other URIs.

    >>> _sqlite_file("sqlite:////tmp/mlflow.db"), _sqlite_file("http://localhost:5000")
    (PosixPath('/tmp/mlflow.db'), None)
    """
    if urlparse(uri).scheme != "sqlite":
        return None
    path = uri.partition("?")[0][len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
    if not path or path.endswith("/"):
        raise ConfigError("--to mlflow", uri, "a SQLite database file: sqlite:///path/mlflow.db "
                          "(relative to this folder) or sqlite:////abs/path/mlflow.db")
    return Path(path)


def _experiment_id(client: Any, name: str, artifact_root: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return client.create_experiment(name, artifact_location=artifact_root)
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def _search(client: Any, experiment_id: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _log_run(client: Any, experiment_id: str, source: ExperimentRuns, run: ExportRun,
             report: Path) -> None:
    """Create the MLflow run of ``run`` whole: if logging fails, the partial run is deleted."""
    from mlflow.entities import Metric, Param, RunTag

    row = run.row
    tags = {"status": row.status, "label": row.label, RUN_ID_TAG: row.id,
            "trainwell.experiment": source.name,
            **{key: _text(row.point[key]) for key in row.point}}
    if row.error:
        tags["error"] = row.error[-_MAX_TAG:]
    started = int(1000 * row.started) if row.started is not None else None
    mlrun = client.create_run(experiment_id, start_time=started, tags=tags, run_name=run.name)
    rid = mlrun.info.run_id
    try:
        params = {**flatten(row.recipe), "run_id": row.id}
        stamp = int(1000 * (row.finished or time.time()))
        rows = [*run.rows(), *((run.last_step, FINAL_PREFIX + k, v) for k, v in row.final.items()
                               if isinstance(v, (int, float)) or v is None)]
        metrics = [Metric(name, float("nan") if v is None else float(v), stamp, step)
                   for step, name, v in rows]
        for chunk in _chunks([Param(k, v[:_MAX_PARAM]) for k, v in params.items()], 100):
            client.log_batch(rid, params=chunk)
        for chunk in _chunks(metrics, 1000):
            client.log_batch(rid, metrics=chunk)
        with tempfile.TemporaryDirectory() as tmp:
            recipe = Path(tmp) / "recipe.toml"
            recipe.write_text(_toml.dumps(row.recipe), encoding="utf-8")
            client.log_artifact(rid, str(recipe))
        client.log_artifact(rid, str(report))
        client.log_batch(rid, tags=[RunTag(_COMPLETE_TAG, "true")])
        ended = int(1000 * row.finished) if row.finished is not None else None
        if row.status in ("running", "pending"):
            client.update_run(rid, status=_STATUS[row.status])
        else:
            client.set_terminated(rid, status=_STATUS.get(row.status, "FINISHED"), end_time=ended)
    except BaseException:
        client.delete_run(rid)
        raise


def _text(value: Any) -> str:
    from trainwell.sweep import format_value

    return format_value(value)[:_MAX_TAG]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
