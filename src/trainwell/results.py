"""An experiment's results from Python: runs filtered by axis values, metrics, the report's
table and figures, and the report itself. :func:`trainwell.compare` returns them; a folder
written before is opened with :func:`open_results`; :func:`trainwell.train` returns a
:class:`Run`, the one-run view of its results.

In a notebook a :class:`Results` shows as the results table. The table, the figures and the
report are those of one experiment: the one ``compare`` ran, else the folder's most recent.

>>> res = open_results("runs/init")                      # doctest: +SKIP
>>> [r["test_acc"] for r in res.runs(where={"init.name": "he_normal"})]  # doctest: +SKIP
>>> res.metrics_frame(names=["loss"])  # with pandas      # doctest: +SKIP
>>> res.table()                         # the report's table, fractions  # doctest: +SKIP
>>> res.table(formatted=True)           # as the report shows it, in %   # doctest: +SKIP
>>> res.plot_loss()                     # a matplotlib Figure  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell._optional import pandas
from trainwell.loop.metrics import TEST_ACC, TRAIN_ACC
from trainwell.report.select import MISSING, matches, run_value
from trainwell.run.store import Store, open_store
from trainwell.run.store_read import RunRow
from trainwell.sweep import format_value

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from trainwell.execute import RunOutcome
    from trainwell.loop import History
    from trainwell.recipe import Recipe
    from trainwell.report.notebook import Experiment
    from trainwell.run.driver import SweepOutcome

__all__ = ["Results", "Run", "open_results", "run_value", "matches", "MISSING"]


def open_results(folder: str | Path, experiment: str | None = None) -> Results:
    """The results of the experiment folder ``folder`` (it must hold ``results.db``), opened
    read-only: reading takes no lock and creates nothing. ``experiment`` picks the one the
    table, figures and report show (default: the folder's most recent)."""
    return Results(open_store(folder, readonly=True), experiment)


class Results:
    """Read-only views of a results store: plain rows, pandas DataFrames, the report's table
    and figures.

    ``experiment`` is the experiment the table, figures and report show (default: the store's
    most recent); ``outcome`` what the :func:`~trainwell.run.run_sweep` call that wrote it did,
    when there was one (runs skipped, run now, failed; ``outcome.interrupted``).
    """

    def __init__(self, store: Store, experiment: str | None = None, *,
                 outcome: SweepOutcome | None = None) -> None:
        self.store, self.outcome = store, outcome
        self._experiment = experiment

    @property
    def folder(self) -> Path:
        """The experiment folder (it holds ``results.db``, ``report.html`` and a folder per run)."""
        return Path(self.store.path).parent

    @property
    def experiment(self) -> str:
        """The experiment the table, figures and report show."""
        from trainwell.report.table import pick_experiment

        return pick_experiment(self.store, self._experiment)

    def experiments(self) -> list[str]:
        return self.store.experiments()

    def runs(self, experiment: str | None = None, *, status: str | Sequence[str] | None = None,
             where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One dict per run of ``experiment`` (default: the one these results are of, else
        every experiment): id, label, seed, status, timings, its axis values and final
        metrics (accuracies as fractions). ``where`` keeps runs whose axis value or resolved
        recipe value at each ``key.path`` equals the given value (``{"init.name": "zeros"}``)."""
        bound = experiment if experiment is not None else self._experiment
        names = [bound] if bound is not None else self.experiments()
        rows = []
        for name in names:
            for run in self.store.runs(name, status=status):
                if where and not matches(run, where):
                    continue
                rows.append({"id": run.id, "experiment": run.experiment, "label": run.label,
                             "seed": run.seed, "status": run.status, "error": run.error,
                             "attempts": run.attempts, "seconds": run.seconds,
                             "diverged_step": run.diverged_step,
                             **{k: format_value(v) for k, v in run.point.items()},
                             **run.final})
        return rows

    def metrics(self, runs: Sequence[str] | None = None,
                names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """``{run, step, name, value}`` rows: ``loss`` per step, epoch metrics at epoch ends;
        of the runs ``runs`` (default: every run, or the runs of the experiment these results
        are of)."""
        if runs is None and self._experiment is not None:
            runs = [r.id for r in self.store.runs(self._experiment)]
        return [{"run": r, "step": s, "name": n, "value": v}
                for r, s, n, v in self.store.metrics(runs, names)]

    def runs_frame(self, experiment: str | None = None, **kw: Any):
        """:meth:`runs` as a pandas DataFrame."""
        return pandas().DataFrame(self.runs(experiment, **kw))

    def metrics_frame(self, runs: Sequence[str] | None = None,
                      names: Sequence[str] | None = None):
        """:meth:`metrics` as a pandas DataFrame (columns run, step, name, value)."""
        return pandas().DataFrame(self.metrics(runs, names), columns=["run", "step", "name", "value"])

    def table(self, *, formatted: bool = False):
        """The report's results table as a pandas DataFrame, one row per grid point.

        By default numbers to compute on: the axis values, ``result`` (``value``, ``n/c``,
        ``failed``, ``pending``), and for each accuracy its mean, std and ``n`` over the seeds
        as a fraction (``test acc mean (fraction)``, ``... std (fraction)``, ``... n``; the
        same for train accuracy and the gap), ``seeds``, ``time/run (s)``, the diagnosis and
        notes. ``formatted=True`` gives the table as report.html shows it: text in percent
        (``test acc (%)`` = ``"91.2 ± 0.4"``, or n/c / failed / pending), ``train acc (%)``,
        ``gap (points)``. Numbers per run are in :meth:`runs_frame`."""
        from trainwell.report.notebook import table_rows

        table = self._read().table
        columns, rows = table_rows(table) if formatted else table.numeric()
        return pandas().DataFrame(rows, columns=columns)

    def plot_loss(self) -> Figure:
        """The report's training-loss figure: one line per grid point (mean over seeds, the
        band spans the seeds), against optimizer steps."""
        from trainwell.report.curves import stored_series
        from trainwell.report.notebook import loss_plot

        runs = self._read().runs
        return loss_plot(runs, stored_series(self.store, [r.id for r in runs]))

    def plot_accuracy(self) -> Figure:
        """The report's validation-accuracy figure: one line per grid point against epochs,
        with chance level."""
        from trainwell.report.curves import stored_series
        from trainwell.report.notebook import accuracy_plot

        exp = self._read()
        return accuracy_plot(exp.runs, stored_series(self.store, [r.id for r in exp.runs]),
                             num_classes=exp.num_classes)

    def report(self) -> Path:
        """Write ``report.html`` into the experiment folder (as ``trainwell report`` does) and
        return its path."""
        from trainwell.report.html import write_report

        return write_report(self.folder, experiment=self.experiment)

    def _read(self) -> Experiment:
        from trainwell.report.notebook import read_experiment

        return read_experiment(self.store, self._experiment)

    def _repr_html_(self) -> str:
        import html

        from trainwell.report.notebook import table_html

        if not self.experiments():
            return f"<p>No experiment recorded in {html.escape(str(self.folder))} yet.</p>"
        return table_html(self._read())

    def __repr__(self) -> str:
        if not self.experiments():
            return f"Results({str(self.folder)!r}, no experiment)"
        runs = self.store.runs(self.experiment)
        counts = Counter(r.status for r in runs)
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"Results({str(self.folder)!r}, experiment={self.experiment!r}, runs: {statuses})"

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Run:
    """One trained run, as :func:`trainwell.train` returns it: a one-run view of the
    :class:`Results` its driver recorded, and the run's outcome in this process (history,
    weights, the trained model). In a notebook it shows as the report's one-row table.

    ``folder``: where ``train(out=...)`` wrote it (``None`` without ``out``), ``written`` the
    files there.
    """

    def __init__(self, results: Results, run_id: str, outcome: RunOutcome, *,
                 folder: Path | None = None, written: Sequence[Path] = ()) -> None:
        self.results, self.id, self.outcome = results, run_id, outcome
        self.folder, self.written = folder, list(written)

    @property
    def recipe(self) -> Recipe:
        return self.outcome.recipe

    @property
    def history(self) -> History:
        """Per-step losses, per-epoch metrics, status and timings."""
        return self.outcome.history

    @property
    def row(self) -> RunRow:
        """The run as its store records it."""
        return self.results.store.runs(ids=[self.id])[0]

    @property
    def metrics(self) -> dict[str, float | None]:
        """The final model's loss and accuracy on every split (``test_acc``, ``val_loss``, ...),
        as stored: accuracies are fractions (0.912), which tables show in percent (91.2)."""
        return dict(self.row.final)

    @property
    def status(self) -> str:
        """``done``, ``diverged`` or ``failed``."""
        return self.row.status

    @property
    def verdicts(self) -> list[dict[str, str]]:
        """The diagnosis of the trained network: kind, message and fix of each finding."""
        return list(self.row.verdicts or [])

    @property
    def model(self) -> torch.nn.Module | None:
        """The trained model (``None`` when the run failed)."""
        return self.outcome.model

    @property
    def label(self) -> str:
        """The recipe's name, else its model, initializer and optimizer."""
        return self.row.label

    def table(self, *, formatted: bool = False):
        """The run as the report's results table (one row), a pandas DataFrame: numbers as
        fractions, or with ``formatted=True`` the text the report shows, in percent."""
        return self.results.table(formatted=formatted)

    def metrics_frame(self, names: list[str] | None = None):
        """The run's metrics as a store keeps them, a pandas DataFrame with columns run, step,
        name, value: ``loss`` per step, epoch metrics at epoch ends (``names`` picks some)."""
        return self.results.metrics_frame([self.id], names)

    def plot_loss(self) -> Figure:
        """The training loss against optimizer steps, as a sweep's report draws it."""
        return self.results.plot_loss()

    def plot_accuracy(self) -> Figure:
        """The validation accuracy against epochs, with chance level."""
        return self.results.plot_accuracy()

    def _repr_html_(self) -> str:
        from trainwell.report.notebook import table_html

        return table_html(self.results._read(), title=f"{self.label}: {self.status}")

    def __repr__(self) -> str:
        accs = ((TEST_ACC, "test acc"), (TRAIN_ACC, "train acc"))
        shown = [f"{name} {100 * v:.1f} %" for key, name in accs
                 if isinstance(v := self.metrics.get(key), float)]
        return f"Run({', '.join([repr(self.label), f'status={self.status!r}', *shown])})"

