"""The ``trainwell`` command: parse → Recipe → one library call → print.

``main(argv)`` returns the exit code (0 success, 1 a run failed, 2 bad input) and never
prints a traceback for bad input, so tests drive the CLI in-process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from trainwell.errors import TrainwellError

__all__ = ["main", "run", "app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train deep networks well: compare recipes, see why one trains.")

SetOpt = Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
    "--set", help="Override a recipe value: key.path=value (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.command()
def train(recipe: Annotated[Optional[Path], typer.Argument(help="Recipe TOML file (default recipe if omitted).")] = None,  # noqa: UP007
          set_: SetOpt = None,
          out: Annotated[Optional[Path], typer.Option("--out", help="Folder for recipe.toml, history.json, weights.safetensors.")] = None,  # noqa: UP007
          quiet: QuietOpt = False) -> int:
    """Train one recipe and print its final metrics."""
    from trainwell.recipe import load_recipe
    from trainwell.report.terminal import print_run
    from trainwell.train import ProgressBar, run_recipe, save_run

    r = load_recipe(recipe, set_ or [])
    callbacks = [ProgressBar(description=r.name or "train", enabled=False if quiet else None)]
    result = run_recipe(r, callbacks=callbacks)
    console = _console()
    print_run(console, result)
    if out is not None:
        save_run(out, recipe_toml=r.to_toml(), history=result.history,
                 model=result.model if result.history.status != "failed" else None)
        console.print(f"wrote {out}/recipe.toml, history.json, weights.safetensors")
    return 0 if result.history.status == "done" else 1


@app.command(name="list")
def list_() -> int:
    """List datasets, models, activations, initializers and optimizers."""
    from trainwell.report.terminal import print_catalogue

    print_catalogue(_console())
    return 0


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
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
