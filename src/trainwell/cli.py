"""The ``trainwell`` command: parse → Recipe → one library call → print.

``main(argv)`` returns the exit code (0 success, 1 a run failed, 2 bad input) and never
prints a traceback for bad input, so tests drive the CLI in-process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from trainwell import cli_lab
from trainwell.cli_app import AtLeast, Command, QuietOpt, SetOpt, app
from trainwell.cli_app import console as _console
from trainwell.errors import ConfigError, TrainwellError

__all__ = ["main", "run", "app", "AtLeast"]


@app.command()
def train(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
          set_: SetOpt = None,
          out: Annotated[Path | None, typer.Option("--out", help="Folder for recipe.toml, history.json, weights and predictions (and checkpoints/ with train.checkpoint_every).")] = None,
          resume: Annotated[bool, typer.Option("--resume", help="Continue this recipe's unfinished run from the last good checkpoint in OUT/checkpoints.")] = False,
          overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run OUT holds (another recipe's, or this one's finished).")] = False,
          quiet: QuietOpt = False) -> int:
    """Train one recipe and print its final metrics.

    Example: trainwell train recipe.toml --set optim.lr=0.01 --set train.epochs=5 --out runs/one

    With train.checkpoint_every = N and --out DIR, a checkpoint goes to DIR/checkpoints every N
    epochs; --resume continues a killed run from the last good one, exactly. With
    train.log_to = "tensorboard", TensorBoard events go to DIR/tensorboard as it trains.
    A DIR that holds another run is refused before training; --overwrite replaces it.
    """
    from trainwell.api import train as train_recipe
    from trainwell.report.terminal import print_run

    console = _console()
    trained = train_recipe(recipe, set=set_ or [], out=out, resume=resume, overwrite=overwrite,
                           quiet=quiet, console=console)
    print_run(console, trained.outcome)
    data = trained.history.data
    if data:
        names = data["classes"]
        shown = ", ".join(names[:10]) + (f", ... ({len(names)})" if len(names) > 10 else "")
        console.print(f"data: {data['source']}; classes: {shown}", markup=False)
    for v in trained.verdicts:
        console.print(f"diagnosis: {v['message']}; {v['fix']}" if v["fix"] else
                      f"diagnosis: {v['message']}", markup=False)
    if out is not None:
        console.print(f"wrote {', '.join(str(p) for p in trained.written)}", markup=False)
    return 0 if trained.status == "done" else 1


@app.command()
def compare(sweep: Annotated[str | None, typer.Argument(help="Sweep TOML file or built-in experiment name (default: init).")] = None,
            init: Annotated[str | None, typer.Option(metavar="A,B,...", help="Initializers to compare (init.name).")] = None,
            activation: Annotated[str | None, typer.Option(metavar="A,B,...", help="Activations to compare (model.activation).")] = None,
            optim: Annotated[str | None, typer.Option(metavar="A,B,...", help="Optimizers to compare (optim.name).")] = None,
            model: Annotated[str | None, typer.Option(metavar="A,B,...", help="Models to compare (model.name).")] = None,
            data: Annotated[str | None, typer.Option(metavar="A,B,...", help="Datasets to compare (data.name).")] = None,
            lr: Annotated[str | None, typer.Option(metavar="A,B,...", help="Learning rates to compare (optim.lr).")] = None,
            schedule: Annotated[str | None, typer.Option(metavar="A,B,...", help="Learning-rate schedules to compare (schedule.name).")] = None,
            axis: Annotated[list[str] | None, typer.Option("--axis", help="Any axis: key.path=v1,v2 (repeatable).")] = None,
            seeds: Annotated[int | None, typer.Option(help="Runs per grid point (seeds train.seed, +1, ...).")] = None,
            set_: SetOpt = None,
            backend: Annotated[str, typer.Option(help="Where runs execute: local (worker processes) or ray (a Ray cluster).")] = "local",
            workers: Annotated[int | None, typer.Option(callback=AtLeast("--workers", 1).check, help="local: worker processes (default: one per core).")] = None,
            runs_per_gpu: Annotated[int, typer.Option("--runs-per-gpu", callback=AtLeast("--runs-per-gpu", 1).check, help="local: runs at once on each visible GPU.")] = 1,
            address: Annotated[str | None, typer.Option(help="ray: the cluster to join (default: RAY_ADDRESS, else a local instance).")] = None,
            cpus_per_run: Annotated[float, typer.Option("--cpus-per-run", callback=AtLeast("--cpus-per-run", 0, above=True).check, help="ray: CPUs each run reserves.")] = 1.0,
            gpus_per_run: Annotated[float, typer.Option("--gpus-per-run", callback=AtLeast("--gpus-per-run", 0).check, help="ray: GPUs each run reserves (fractions share one).")] = 0.0,
            retries: Annotated[int, typer.Option(callback=AtLeast("--retries", 0).check, help="Times a run whose worker died is tried again.")] = 2,
            root: Annotated[Path, typer.Option(help="Folder that holds experiment folders.")] = Path("runs"),
            name: Annotated[str | None, typer.Option("--name", help="Experiment name (default: the sweep's).")] = None,
            quiet: QuietOpt = False) -> int:
    """Run a grid of recipes side by side; write DIR/report.html and print the table.

    Example: trainwell compare --init he_normal,glorot_normal --seeds 3

    Exit code 0 when every run trained (diverged runs are results), 1 when a run failed.
    """
    from trainwell.api import compare as compare_sweep
    from trainwell.report.html import REPORT_NAME
    from trainwell.report.terminal import print_failed, print_results

    results = compare_sweep(sweep, init=init, activation=activation, optim=optim, model=model,
                            data=data, lr=lr, schedule=schedule, axis=axis or [], seeds=seeds,
                            set=set_ or [], backend=backend, workers=workers,
                            runs_per_gpu=runs_per_gpu, address=address,
                            cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run,
                            retries=retries, root=root, name=name, quiet=quiet)
    outcome, report = results.outcome, results.folder / REPORT_NAME
    assert outcome is not None  # compare ran the sweep
    console = _console()
    with results:
        print_results(console, results.store, outcome.experiment)
        print_failed(console, results.store, outcome.failed)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.statuses.items()))
    held = f", {outcome.held} held by another driver" if outcome.held else ""
    console.print(f"{outcome.total} runs ({counts}; {outcome.skipped} already finished, "
                  f"{outcome.ran} run now{held}). Report: {report}", markup=False)
    if outcome.interrupted:
        return 130
    return 1 if outcome.failed else 0


@app.command()
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


@app.command()
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


@app.command()
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


app.command(name="diagnose")(cli_lab.diagnose_)
app.command(name="lr-find")(cli_lab.lr_find_)
app.command()(cli_lab.doctor)
app.command()(cli_lab.pretrain)
app.command()(cli_lab.playground)


@app.command(name="data")
def data_(source: Annotated[str, typer.Argument(help="An image folder, an arrays file (.npz, .npy, .safetensors), a table (.csv, .parquet), a recipe .toml, a dataset name or a factory spec module:function.")],
          set_: Annotated[list[str] | None, typer.Option("--set", help="A [data] option: key=value, e.g. target=species or size=[32,32] (repeatable).")] = None) -> int:
    """Show a dataset as trainwell reads it: splits, classes, shape, values and its cache.

    Example: trainwell data ~/photos --set size=[64,64]
    """
    from trainwell.data.describe import data_source, describe
    from trainwell.recipe import parse_override

    options = {}
    for text in set_ or []:
        path, value = parse_override(text)
        options[".".join(path[1:] if path[0] == "data" and len(path) > 1 else path)] = value
    _, lines = describe(data_source(source, options))
    console = _console()
    for line in lines:
        console.print(line, markup=False)
    return 0


@app.command(name="list")
def list_(what: Annotated[str | None, typer.Argument(
        help="experiments: the built-in experiments, each with its runs and a line.")] = None) -> int:
    """List the names a recipe can use, or the built-in experiments.

    Without an argument: datasets, models, activations, initializers, optimizers, schedules,
    regularizers, augmentations and averaging kinds. With EXPERIMENTS: each built-in experiment
    (trainwell compare NAME) with its number of runs and what it compares.

    Example: trainwell list experiments
    """
    from trainwell.report.terminal import print_catalogue, print_experiments

    if what is None:
        print_catalogue(_console())
    elif what == "experiments":
        print_experiments(_console())
    else:
        raise TrainwellError(f"list {what!r}: expected nothing (the catalogue) or experiments")
    return 0


def _version(value: bool) -> None:
    if value:
        from trainwell import __version__

        print(f"trainwell {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False) -> None:
    """Train deep networks well: compare recipes, see why one trains.

    Example: trainwell compare --init he_normal,glorot_normal --seeds 3
    """


for _info in app.registered_commands:
    _info.cls = Command


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="trainwell", standalone_mode=False)
    except ConfigError as exc:
        print(f"error: {_in_flags(exc, command, argv)}", file=sys.stderr)
        return 2
    except TrainwellError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2 if exc.exit_code in (1, 2) else exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        # typer's completion options and its completion protocol (_TRAINWELL_COMPLETE) end in sys.exit.
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return result if isinstance(result, int) else 0


def _in_flags(exc: ConfigError, command: Any, argv: list[str] | None) -> ConfigError:
    """``exc`` as the command line says it: a parameter of the command (``retries``) by its
    flag (``--retries``); recipe keys as they are."""
    from trainwell.recipe import SECTIONS

    args = sys.argv[1:] if argv is None else argv
    sub = getattr(command, "commands", {}).get(next((a for a in args if not a.startswith("-")), ""))
    flags = {p.name.rstrip("_"): p.opts[0] for p in getattr(sub, "params", ())
             if p.name and p.opts[0].startswith("--")}
    if exc.key in flags and exc.key not in SECTIONS:
        return ConfigError(flags[exc.key], exc.value, exc.allowed)
    return exc


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
