"""Read TOML files with one clear error; write the subset of TOML that recipes use.

Reading uses the standard library's ``tomllib``; ``loads(dumps(d)) == d`` for every
recipe dict (floats are written with ``repr``, which round-trips exactly).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trainwell.errors import TrainwellError

__all__ = ["dumps", "read", "inline"]


def read(path: str | Path, *, what: str) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; a :class:`TrainwellError` naming the ``what``
    ("recipe file") and the path when it is missing, not UTF-8 or not valid TOML."""
    p = Path(path)
    if not p.is_file():
        raise TrainwellError(f"{what} {str(p)!r} does not exist")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TrainwellError(f"{what} {str(p)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise TrainwellError(f"{what} {str(p)!r} is not UTF-8 text") from None


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} as TOML")


def inline(v: Any) -> str:
    """``v`` as one inline TOML value (a table as ``{k = v}``); ``TypeError`` for a value TOML
    cannot hold.

    >>> inline({"metric": "val_loss", "patience": 2})
    '{metric = "val_loss", patience = 2}'
    """
    return _value(v)


def _key(k: str) -> str:
    bare = k and all(c.isalnum() or c in "-_" for c in k)
    return k if bare else json.dumps(k)


def dumps(data: Mapping[str, Any]) -> str:
    """Top-level scalars first, then one ``[table]`` per mapping value.

    >>> print(dumps({"name": "x", "optim": {"lr": 0.1}}), end="")
    name = "x"
    <BLANKLINE>
    [optim]
    lr = 0.1
    """
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
