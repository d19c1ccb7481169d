"""What every ``trainwell`` command shares: the typer app, common options, a numeric flag's
lower bound and the console commands print to."""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console

from trainwell.errors import ConfigError

__all__ = ["app", "Command", "AtLeast", "SetOpt", "QuietOpt", "console"]


def _untyped_flags(params: Any) -> Any:
    """``params`` with no ``<bool>`` type shown for a flag (it takes no value)."""
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    return params


class _Root(typer.core.TyperGroup):
    """The root command: its flags (``--version``, ``--help``, typer's completion flags) show
    no ``<bool>`` type."""

    def get_params(self, ctx: Any) -> Any:
        return _untyped_flags(super().get_params(ctx))


class Command(typer.core.TyperCommand):
    """A command whose flags (``--help`` among them) show no ``<bool>`` type."""

    def get_params(self, ctx: Any) -> Any:
        return _untyped_flags(super().get_params(ctx))


app = typer.Typer(add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=_Root)

SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a recipe value: key.path=value (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


class AtLeast:
    """A numeric flag's lower bound, checked as the command line is parsed (``callback=
    AtLeast(flag, low).check``): a value below it, or not a finite number, is
    ``--flag = value: expected ...`` (exit code 2).

    >>> AtLeast("--retries", 0).check(-1)
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: --retries = -1: expected a whole number >= 0
    """

    def __init__(self, flag: str, low: float, *, above: bool = False) -> None:
        self.flag, self.low, self.above = flag, low, above

    def check(self, value: float | None) -> float | None:
        if value is None:
            return value
        whole = isinstance(value, int)
        ok = math.isfinite(value) and (value > self.low if self.above else value >= self.low)
        if not ok:
            what = "a whole number" if whole else "a finite number"
            raise ConfigError(self.flag, value, f"{what} {'>' if self.above else '>='} {self.low}")
        return value


def console() -> Console:
    """The console a command prints to; piped output keeps wide tables whole instead of rich's
    80-column default."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
