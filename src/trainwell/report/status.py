"""What a written report shows of its experiment's state, read back before it is replaced.

A report records how many runs it shows (``<meta name="trainwell-runs">``), so a report of an
experiment with runs is never replaced by an empty one (the folder read under another
experiment's name); and it says which runs another process was still training when it was
written.
"""

from __future__ import annotations

import re
from pathlib import Path

from trainwell.errors import TrainwellError
from trainwell.run.store import RunRow

__all__ = ["report_runs", "running_note", "check_replace"]


def report_runs(report: str | Path) -> int:
    """The number of runs a report shows (``0`` for none, or no report at ``report``)."""
    if isinstance(report, Path):
        try:
            report = report.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return 0
    found = _RUNS.search(report)
    return int(found.group(1)) if found else 0


_RUNS = re.compile(r'<meta name="trainwell-runs" content="(\d+)">')


def check_replace(path: Path, text: str, *, experiment: str) -> None:
    """Raise :class:`TrainwellError` when the report at ``path`` shows runs and ``text``, the
    one that would replace it, shows none; the report stays as it is."""
    before, after = report_runs(path), report_runs(text)
    if before and not after:
        raise TrainwellError(f"kept {str(path)!r} ({before} runs): the experiment {experiment!r} "
                             f"has no runs in {str(path.parent / 'results.db')!r} to replace it "
                             "with")


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
