"""Output folders of the exports: checked before anything is written, filled all or nothing.

:func:`writable_folder` makes sure an output folder can be created and written, or raises one
:class:`~trainwell.errors.ConfigError` naming the option and the path. :func:`staged` hands
out a hidden staging folder inside it; when the block ends without an error, each entry of the
staging folder replaces the entry of the same name in the output folder (one rename each), and
on an error the staging folder is removed, so a failed export leaves the output as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trainwell.errors import ConfigError

__all__ = ["writable_folder", "staged"]


def writable_folder(out: str | Path, *, option: str) -> Path:
    """``out`` as a folder this process can write, created if missing (with its parents)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(option, str(out), "a folder (this path is a file)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".trainwell-probe-")
        probe.close()
    except OSError as exc:
        raise ConfigError(option, str(out), f"a folder that can be written ({exc.strerror or exc})") from None
    return out


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging folder inside ``out`` whose entries replace ``out``'s when the block succeeds."""
    stage = Path(tempfile.mkdtemp(dir=out, prefix=".trainwell-export-"))
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                old = stage / f".old-{entry.name}"
                os.replace(target, old)
            os.replace(entry, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
