"""Errors that mean "the input is wrong": the CLI turns them into one message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["TrainwellError", "ConfigError", "UnknownOptionError", "did_you_mean"]


class TrainwellError(Exception):
    """Bad input from the user: an unknown name, an impossible value, a missing file."""


class ConfigError(TrainwellError, ValueError):
    """A value at ``key`` is not allowed; the message names the key, the value and the choices.

    >>> str(ConfigError("optim.lr", -1, "a number > 0"))
    'optim.lr = -1: expected a number > 0'
    """

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} = {value!r}: expected {allowed}")


class UnknownOptionError(ConfigError):
    """A section names an option its component does not have."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for a near miss among ``choices``, else ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
