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
    """Return ``" (did you mean 'x'?)"`` for a near miss among ``choices``, else ``""``.

    A near miss is a close spelling (difflib's ratio of at least 0.7), one typing slip (a
    letter added, dropped, changed, or two neighbours swapped), or a whole ``_``-separated
    part of a name; a name that merely shares letters with a choice gets no suggestion.

    >>> did_you_mean("sdg", ["sgd", "adam"]), did_you_mean("xavier", ["lecture_xavier"])
    (" (did you mean 'sgd'?)", " (did you mean 'lecture_xavier'?)")
    >>> did_you_mean("iris", ["digits", "mnist1d", "mnist5k"]), did_you_mean("kk", ["k", "lr"])
    ('', " (did you mean 'k'?)")
    """
    name = str(name)
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.7)
    if not close:
        close = [c for c in choices if _one_slip(name, c) or name in c.split("_")][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _one_slip(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one insertion, deletion, substitution or swap of two
    neighbouring letters (Damerau-Levenshtein distance 1), for names of 2 letters or more."""
    if a == b or max(len(a), len(b)) < 2 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))
