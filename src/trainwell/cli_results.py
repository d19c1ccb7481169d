"""The commands that read an experiment's stored runs: ``report``, ``export`` and
``ensemble`` (registered on the app by :mod:`trainwell.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trainwell.cli_app import console as _console
from trainwell.errors import TrainwellError

__all__ = ["report", "export", "ensemble"]


def report(folder: Annotated[Path, typer.Argument(help="Experiment folder holding results.db.")],
           experiment: Annotated[str | None, typer.Option(help="Experiment name (default: the folder's).")] = None,
           figures: Annotated[Path | None, typer.Option(help="Also write the plots (PNG) and the table (markdown) into this folder.")] = None) -> int:
    """Write FOLDER/report.html from the results store and print the table.

    Example: trainwell report runs/init --figures docs
    """
    from trainwell.report.documents import export_figures
    from trainwell.report.html import REPORT_NAME, write_report
    from trainwell.report.terminal import print_results
    from trainwell.run.store import open_store
    from trainwell.run.store_check import writable

    console = _console()
    with open_store(folder) as store:
        print_results(console, store, experiment)
    if figures is not None:
        for written in export_figures(folder, figures, experiment=experiment):
            console.print(f"wrote {written}", markup=False)
    if not writable(folder / REPORT_NAME):
        console.print(f"{folder} is read-only: {REPORT_NAME} not written there (--figures DIR "
                      "writes the plots and the table elsewhere)", markup=False)
        return 0
    path = write_report(folder, experiment=experiment)
    console.print(f"Report: {path}", markup=False)
    return 0


def export(folder: Annotated[Path, typer.Argument(help="Experiment folder holding results.db.")],
           dest: Annotated[str, typer.Argument(metavar="OUT", help="tensorboard, csv: the folder to write; mlflow: the tracking URI (sqlite:///mlflow.db, http://host:5000).")],
           to: Annotated[str, typer.Option("--to", metavar="TARGET", help="tensorboard, mlflow or csv.")],
           experiment: Annotated[str | None, typer.Option(help="Experiment name (default: the folder's).")] = None,
           artifact_root: Annotated[Path | None, typer.Option("--artifact-root", help="mlflow: where a new MLflow experiment keeps its artifacts (default: mlartifacts beside a sqlite database).")] = None) -> int:
    """Export an experiment's runs to TensorBoard, MLflow or CSV files.

    tensorboard: one TensorBoard run per run (scalars, hparams, gradient flow) in OUT;
    mlflow: one MLflow run per run (params, metrics, tags, recipe and report); csv:
    OUT/runs.csv and OUT/metrics.csv. Exporting again replaces, never duplicates.
    Example: trainwell export runs/init --to tensorboard tb && tensorboard --logdir tb
    """
    from trainwell.export import TARGETS
    from trainwell.names import get

    exporter = get(TARGETS, to, key="--to")
    console = _console()
    if to == "mlflow":
        _quiet_mlflow()
        done = exporter(folder, dest, experiment=experiment, artifact_root=artifact_root)
        console.print(f"MLflow experiment {done.experiment_id} at {dest}: {done.created} runs "
                      f"logged, {done.replaced} replaced, {done.unchanged} unchanged", markup=False)
        console.print(f"View it: mlflow ui --backend-store-uri {dest}", markup=False)
        return 0
    if artifact_root is not None:
        raise TrainwellError(f"--artifact-root is for --to mlflow, not --to {to}")
    written = exporter(folder, Path(dest), experiment=experiment)
    console.print(f"wrote {len(written)} {'runs' if to == 'tensorboard' else 'files'} into {dest}",
                  markup=False)
    if to == "tensorboard":
        console.print(f"View them: tensorboard --logdir {dest}", markup=False)
    return 0


def _quiet_mlflow() -> None:
    """MLflow's and alembic's INFO lines about creating tables are not the user's business
    (MLflow sets its logger's level when imported, so import it first)."""
    import logging

    try:
        import mlflow  # noqa: F401
    except ImportError:
        return  # export_mlflow says what to install
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def ensemble(folder: Annotated[Path, typer.Argument(help="Experiment folder holding results.db.")],
             where: Annotated[list[str] | None, typer.Option(
                 "--where", help="Keep runs with key=value: a grid axis, seed, label or recipe "
                 "path (repeatable; all must hold).")] = None,
             experiment: Annotated[str | None, typer.Option(help="Experiment name (default: the folder's).")] = None,
             split: Annotated[str, typer.Option(help="test or val.")] = "test") -> int:
    """Evaluate the ensemble of a set of stored runs from their saved predictions.

    Prints each member's accuracy, their mean, the ensemble's (mean of the members' class
    probabilities) and the oracle's (a sample counts as right if any member is right).

    Example: trainwell ensemble runs/ensembles --where variant=single
    """
    from trainwell.report.ensembles import evaluate_runs, select_runs
    from trainwell.report.table import pick_experiment
    from trainwell.report.terminal import print_ensemble
    from trainwell.run.store import open_store

    if split not in ("test", "val"):
        raise TrainwellError(f"--split = {split!r}: expected test or val")
    with open_store(folder) as store:
        runs = store.runs(pick_experiment(store, experiment))
    chosen = select_runs(runs, where or [])
    if not chosen:
        raise TrainwellError(f"no run of {str(folder)!r} matches --where {' '.join(where or [])}")
    print_ensemble(_console(), evaluate_runs(folder, chosen, split=split))
    return 0
