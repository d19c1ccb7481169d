"""The ``trainwell`` command: parse → Recipe → one library call → print.

``main(argv)`` returns the exit code (0 success, 1 a run failed, 2 bad input) and never
prints a traceback for bad input, so tests drive the CLI in-process.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trainwell.errors import TrainwellError

__all__ = ["main", "run", "app"]

app = typer.Typer(add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False)

SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a recipe value: key.path=value (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _console() -> Console:
    # Piped output keeps wide tables whole instead of rich's 80-column default.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


@app.command()
def train(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
          set_: SetOpt = None,
          out: Annotated[Path | None, typer.Option("--out", help="Folder for recipe.toml, history.json, weights and predictions (and checkpoints/ with train.checkpoint_every).")] = None,
          resume: Annotated[bool, typer.Option("--resume", help="Continue from the last good checkpoint in OUT/checkpoints.")] = False,
          quiet: QuietOpt = False) -> int:
    """Train one recipe and print its final metrics.

    Example: trainwell train recipe.toml --set optim.lr=0.01 --set train.epochs=5 --out runs/one

    With train.checkpoint_every = N and --out DIR, a checkpoint goes to DIR/checkpoints every N
    epochs; --resume continues a killed run from the last good one, exactly.
    """
    from trainwell.errors import ConfigError
    from trainwell.execute import check_runnable, execute, prepare_data, resume_point
    from trainwell.recipe import load_recipe
    from trainwell.report.terminal import print_run
    from trainwell.train import ProgressBar, resolve_device, save_run

    r = load_recipe(recipe, set_ or [])
    if resume and out is None:
        raise ConfigError("--resume", True, "--out DIR with it: the checkpoints are in DIR/checkpoints")
    device = resolve_device(r.train.device)
    dataset = prepare_data(r, device)
    check_runnable(r, dataset)
    console = _console()
    checkpoints = out / "checkpoints" if out is not None else None
    if resume and checkpoints is not None:
        found = resume_point(r, checkpoints)
        console.print(f"resuming from {found.path} (epoch {found.epoch} of {r.train.epochs})"
                      if found else f"no good checkpoint in {checkpoints}: training from scratch",
                      markup=False)
    elif r.train.checkpoint_every is None:
        checkpoints = None
    source = None
    if r.transfer.source is not None:
        from trainwell.recipe_tools import train_source

        if isinstance(r.transfer.source, dict):
            console.print("the transfer source first"
                          + (f" (kept in {out / 'source'})" if out is not None else ""),
                          markup=False)
        source = train_source(r, out / "source" if out is not None else None)
    callbacks = [ProgressBar(description=r.name or "train", enabled=False if quiet else None)]
    result = execute(r, callbacks=callbacks, dataset=dataset, checkpoint_dir=checkpoints,
                     resume=resume, source=source)
    print_run(console, result)
    for v in result.history.extra.get("verdicts") or []:
        console.print(f"diagnosis: {v['message']}; {v['fix']}" if v["fix"] else
                      f"diagnosis: {v['message']}", markup=False)
    if out is not None:
        done = result.status == "done"
        written = save_run(out, recipe_toml=r.to_toml(), history=result.history,
                           weights=result.weights if done else None,
                           artifacts=result.artifacts if done else None)
        console.print(f"wrote {', '.join(str(p) for p in written)}", markup=False)
    return 0 if result.status == "done" else 1


FLAG_AXES = {"init": "init.name", "activation": "model.activation", "optim": "optim.name",
             "model": "model.name", "data": "data.name", "lr": "optim.lr",
             "schedule": "schedule.name"}


def _axis_values(text: str) -> list:
    from trainwell.recipe import parse_override

    return [parse_override(f"v={v.strip()}")[1] for v in text.split(",") if v.strip()]


def _load_sweep(source: str | None, name: str | None):
    from trainwell.experiments import EXPERIMENTS, experiment_path
    from trainwell.sweep import load_sweep

    if source is None:
        return load_sweep(experiment_path("init"), default_experiment=name)
    if Path(source).is_file() or source not in EXPERIMENTS:
        return load_sweep(source, default_experiment=name)
    return load_sweep(experiment_path(source), default_experiment=name)


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
            workers: Annotated[int | None, typer.Option(help="local: worker processes (default: one per core).")] = None,
            runs_per_gpu: Annotated[int, typer.Option("--runs-per-gpu", help="local: runs at once on each visible GPU.")] = 1,
            address: Annotated[str | None, typer.Option(help="ray: the cluster to join (default: RAY_ADDRESS, else a local instance).")] = None,
            cpus_per_run: Annotated[float, typer.Option("--cpus-per-run", help="ray: CPUs each run reserves.")] = 1.0,
            gpus_per_run: Annotated[float, typer.Option("--gpus-per-run", help="ray: GPUs each run reserves (fractions share one).")] = 0.0,
            retries: Annotated[int, typer.Option(help="Times a run whose worker died is tried again.")] = 2,
            root: Annotated[Path, typer.Option(help="Folder that holds experiment folders.")] = Path("runs"),
            name: Annotated[str | None, typer.Option("--name", help="Experiment name (default: the sweep's).")] = None,
            quiet: QuietOpt = False) -> int:
    """Run a grid of recipes side by side; write DIR/report.html and print the table.

    Example: trainwell compare --init he_normal,glorot_normal --seeds 3

    Exit code 0 when every run trained (diverged runs are results), 1 when a run failed.
    """
    from trainwell.errors import ConfigError
    from trainwell.report.html import write_report
    from trainwell.report.terminal import print_failed, print_results
    from trainwell.run import make_backend, open_store, run_sweep

    s = _load_sweep(sweep, name)
    if name is not None:
        s = dataclasses.replace(s, experiment=name)
    flags = {"init": init, "activation": activation, "optim": optim, "model": model,
             "data": data, "lr": lr, "schedule": schedule}
    for flag, text in flags.items():
        if text is not None:
            s = s.with_axis(FLAG_AXES[flag], _axis_values(text))
    for item in axis or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--axis", item, "key.path=v1,v2,...")
        s = s.with_axis(key.strip(), _axis_values(text))
    if seeds is not None:
        s = s.with_seeds(seeds)
    if set_:
        s = s.with_overrides(set_)
    if retries < 0:
        raise ConfigError("--retries", retries, "a whole number >= 0")
    runner = make_backend(backend, workers=workers, runs_per_gpu=runs_per_gpu, address=address,
                          cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    console = _console()
    outcome = run_sweep(s, root=root, backend=runner, retries=retries, quiet=quiet)
    report = write_report(outcome.folder, experiment=outcome.experiment)
    with open_store(outcome.folder) as store:
        print_results(console, store, outcome.experiment)
        print_failed(console, store, outcome.failed)
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
    from trainwell.report.html import export_figures, write_report
    from trainwell.report.terminal import print_results
    from trainwell.run.store import open_store

    console = _console()
    path = write_report(folder, experiment=experiment)
    if figures is not None:
        for written in export_figures(folder, figures, experiment=experiment):
            console.print(f"wrote {written}", markup=False)
    with open_store(folder) as store:
        print_results(console, store, experiment)
    console.print(f"Report: {path}", markup=False)
    return 0


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


@app.command(name="diagnose")
def diagnose_(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,
              set_: SetOpt = None,
              after_steps: Annotated[int, typer.Option("--after-steps", help="Train this many optimizer steps before probing.")] = 0,
              out: Annotated[Path, typer.Option("--out", help="Folder for diagnosis.html and diagnosis.json.")] = Path("runs/diagnose")) -> int:
    """Probe a recipe's network layer by layer and say why it does or does not train.

    Example: trainwell diagnose --set model.activation=sigmoid --set init.name=lecture_xavier
    """
    import json

    from trainwell._io import atomic_write_text
    from trainwell.errors import ConfigError
    from trainwell.recipe import load_recipe
    from trainwell.recipe_tools import diagnose_recipe
    from trainwell.report.diagnosis import write_diagnosis_page

    if after_steps < 0:
        raise ConfigError("--after-steps", after_steps, "a whole number >= 0")
    r = load_recipe(recipe, set_ or [])
    result = diagnose_recipe(r, after_steps=after_steps)
    d = result.diagnosis
    console = _console()
    console.print(d.table())
    title = (r.name or f"{r.model.name} · {r.model.options.get('activation', '')} · {r.init.name}")
    title += f" · after {result.steps} steps" if result.steps else " · at initialization"
    page = write_diagnosis_page(d, out / "diagnosis.html", title=title)
    atomic_write_text(out / "diagnosis.json", json.dumps(d.to_dict(), indent=1))
    console.print(f"Diagnosis: {page}", markup=False)
    return 0


@app.command()
def pretrain(recipe: Annotated[Path | None, typer.Argument(help="Recipe TOML file whose [init] is dbn or autoencoder.")] = None,
             set_: SetOpt = None,
             out: Annotated[Path, typer.Option("--out", help="Folder for the RBMs, the weights and the report.")] = Path("runs/pretrain"),
             quiet: QuietOpt = False) -> int:
    """Pre-train a network's hidden layers (RBMs of a DBN, auto-encoders, or LSUV) and save them.

    Example: trainwell pretrain --set init.name=dbn --set init.epochs=5 --out runs/dbn
    """
    from trainwell.recipe import load_recipe
    from trainwell.recipe_tools import pretrain_recipe, save_pretrained

    r = load_recipe(recipe, set_ or [])
    console = _console()
    result = pretrain_recipe(r, progress=not quiet and sys.stderr.isatty())
    if r.init.name == "lsuv":
        console.print(str(result.report), markup=False)
    else:
        console.print(_pretrain_table(result.report))
    for path in save_pretrained(result, out, recipe_toml=r.to_toml()):
        console.print(f"wrote {path}", markup=False)
    return 0


def _pretrain_table(report):
    """Per layer of a DBN or auto-encoder stack: sizes and the reconstruction error curve."""
    from rich.table import Table

    table = Table(title=str(report).splitlines()[0])
    for col in ("layer", "sizes", "reconstruction error by epoch", "first", "last", "seconds"):
        table.add_column(col, justify="left" if col in ("layer", "reconstruction error by epoch") else "right")
    for i, layer in enumerate(report.layers, 1):
        curve = list(getattr(layer, "recon_error", None) or getattr(layer, "mse", None) or ())
        sizes = (f"{layer.n_visible}→{layer.n_hidden}" if hasattr(layer, "n_visible")
                 else f"{layer.in_features}→{layer.out_features}")
        table.add_row(str(i), sizes, _sparkline(curve), f"{curve[0]:.4g}", f"{curve[-1]:.4g}",
                      f"{layer.seconds:.1f}")
    return table


def _sparkline(values: list[float]) -> str:
    """A curve in block characters, lowest to highest."""
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(bars[int((v - lo) / span * (len(bars) - 1))] for v in values)


@app.command()
def playground(surface: Annotated[str | None, typer.Option(metavar="A,B,...", help="Loss surfaces to race on (default: all; a wrong name lists them).")] = None,
               optim: Annotated[str | None, typer.Option(metavar="A,B,...", help="Optimizers to race (default: the lecture's six).")] = None,
               steps: Annotated[int, typer.Option(help="Optimizer steps per trajectory.")] = 200,
               tune: Annotated[bool, typer.Option("--tune", help="Tune each optimizer's lr on a small grid.")] = False,
               lr: Annotated[float | None, typer.Option(help="One lr for every optimizer (default: the surface's).")] = None,
               out: Annotated[Path, typer.Option("--out", help="Folder for <surface>.png and .html.")] = Path("runs/playground")) -> int:
    """Race optimizers on 2-D loss surfaces: contour plots, animations and a table.

    Example: trainwell playground --surface taco,saddle --optim sgd,momentum,adam --tune
    """
    from trainwell.optim.playground import playground_main

    names = [v.strip() for v in surface.split(",") if v.strip()] if surface else None
    optims = [v.strip() for v in optim.split(",") if v.strip()] if optim else None
    _console().print(playground_main(names, optims, steps, out, tune, lr=lr))
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="trainwell", standalone_mode=False)
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


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
