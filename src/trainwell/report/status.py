"""What a written report shows of its experiment's state, read back before it is replaced.

A report records which experiment it shows and how many runs (``<meta name="trainwell-...">``).
It is never replaced by an emptier one: by an empty one, nor by one that shows fewer runs
while the store still holds at least as many runs of the experiment the report shows (the
folder read under another experiment's name). When the store itself now holds fewer (the
experiment was run again with a smaller grid), the report is out of date and is replaced.
It also says which runs another process was still training when it was written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from trainwell.errors import TrainwellError
from trainwell.run.store import Store
from trainwell.run.store_read import RunRow

__all__ = ["Shown", "report_shows", "report_runs", "running_note", "check_replace"]


@dataclass(frozen=True)
class Shown:
    """What a report shows: ``runs`` runs of ``experiment`` (``None``: a report written before
    it recorded its experiment)."""

    runs: int
    experiment: str | None


def report_shows(report: str | Path) -> Shown:
    """What the report ``report`` (its text, or its path) shows; no runs for no report.

    >>> report_shows('<meta name="trainwell-runs" content="3">'
    ...              '<meta name="trainwell-experiment" content="grid">')
    Shown(runs=3, experiment='grid')
    """
    if isinstance(report, Path):
        try:
            report = report.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return Shown(0, None)
    runs, name = _RUNS.search(report), _EXPERIMENT.search(report)
    return Shown(int(runs.group(1)) if runs else 0, html.unescape(name.group(1)) if name else None)


def report_runs(report: str | Path) -> int:
    """The number of runs a report shows (``0`` for none, or no report at ``report``)."""
    return report_shows(report).runs


_RUNS = re.compile(r'<meta name="trainwell-runs" content="(\d+)">')
_EXPERIMENT = re.compile(r'<meta name="trainwell-experiment" content="([^"]*)">')


def check_replace(path: Path, text: str, *, store: Store, experiment: str) -> None:
    """Raise :class:`TrainwellError` saying what is kept and why when ``text``, the report of
    ``experiment`` in ``store``, would replace the report at ``path`` with an emptier one: one
    that shows no runs, or fewer than the old report does while ``store`` still holds as many
    runs of the experiment the old report shows."""
    before, after = report_shows(path), report_shows(text)
    if after.runs >= before.runs:
        return
    db = str(Path(store.path))
    if not after.runs:
        raise TrainwellError(f"kept {str(path)!r} ({before.runs} runs): the experiment "
                             f"{experiment!r} has no runs in {db!r} to replace it with")
    shown = before.experiment if before.experiment is not None else experiment
    held = len(store.runs(shown)) if store.experiment(shown) is not None else 0
    if held < before.runs:
        return  # the store itself holds fewer now: the old report is out of date
    raise TrainwellError(f"kept {str(path)!r} ({before.runs} runs of {shown!r}, and {db!r} still "
                         f"holds {held}): the report of {experiment!r} would show only "
                         f"{after.runs}; write its plots and table elsewhere (trainwell report "
                         f"--figures DIR) or give {experiment!r} a folder of its own")


def running_note(runs: list[RunRow]) -> str:
    """What the report cannot show yet: runs another process was still training when it was
    written (its driver writes the report again when it finishes)."""
    owners = sorted({r.owner.rsplit(":", 1)[0] for r in runs if r.status == "running" and r.owner})
    if not owners:
        return ""
    n = sum(r.status == "running" for r in runs)
    return (f"{n} run{'s' if n != 1 else ''} still running in another process "
            f"({', '.join(owners)}) when this report was written; that process writes the "
            "report again when it finishes (or run trainwell report on this folder)")
