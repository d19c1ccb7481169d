"""One trained run in Python: what :func:`trainwell.train` returns.

A :class:`Run` holds the run's :class:`~trainwell.execute.RunOutcome` (recipe, history, final
metrics, verdicts, weights and the trained model) and shows it as a one-row report: the same
table, curves and colours as a sweep's, from the same code. In a notebook it shows as that
table.

>>> import trainwell as tw
>>> run = tw.train(data__name="digits", train__epochs=1, train__record_every=0, quiet=True)
>>> run.status, list(run.table().columns)[:2]
('done', ['recipe', 'test acc (%)'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.run.store import RunRow
from trainwell.sweep import run_id

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from trainwell.execute import RunOutcome
    from trainwell.loop import History
    from trainwell.recipe import Recipe
    from trainwell.report.notebook import Experiment

__all__ = ["Run"]


@dataclass
class Run:
    """A trained run: ``outcome`` as :func:`~trainwell.execute.execute` returned it, and where
    ``train(out=...)`` wrote it (``folder``, the files in ``written``)."""

    outcome: RunOutcome
    folder: Path | None = None
    written: list[Path] = field(default_factory=list)

    @property
    def recipe(self) -> Recipe:
        return self.outcome.recipe

    @property
    def history(self) -> History:
        """Per-step losses, per-epoch metrics, status and timings."""
        return self.outcome.history

    @property
    def metrics(self) -> dict[str, float | None]:
        """The final model's loss and accuracy on every split (``test_acc``, ``val_loss``, ...)."""
        return dict(self.outcome.history.final)

    @property
    def status(self) -> str:
        """``done``, ``diverged`` or ``failed``."""
        return self.outcome.status

    @property
    def verdicts(self) -> list[dict[str, str]]:
        """The diagnosis of the trained network: kind, message and fix of each finding."""
        return list(self.outcome.history.verdicts or [])

    @property
    def model(self) -> torch.nn.Module | None:
        """The trained model (``None`` when the run failed)."""
        return self.outcome.model

    @property
    def id(self) -> str:
        """The run's id: the one a sweep stores this recipe under."""
        return run_id(self.recipe.to_dict())

    @property
    def label(self) -> str:
        """The recipe's name, else its model, initializer and optimizer."""
        r = self.recipe
        return r.name or f"{r.model.name} · {r.init.name} · {r.optim.name}"

    def table(self):
        """The run as the report's results table (one row), a pandas DataFrame."""
        from trainwell.report.notebook import table_rows
        from trainwell.results import _pandas

        columns, rows = table_rows(self._experiment().table)
        return _pandas().DataFrame(rows, columns=columns)

    def metrics_frame(self, names: list[str] | None = None):
        """The run's metrics as a store keeps them, a pandas DataFrame with columns run, step,
        name, value: ``loss`` per step, epoch metrics at epoch ends (``names`` picks some)."""
        from trainwell.results import _pandas

        rows = [{"run": r, "step": s, "name": n, "value": v} for r, s, n, v in self._rows()
                if names is None or n in names]
        return _pandas().DataFrame(rows, columns=["run", "step", "name", "value"])

    def plot_loss(self) -> Figure:
        """The training loss against optimizer steps, as a sweep's report draws it."""
        from trainwell.report.curves import series
        from trainwell.report.notebook import loss_plot

        return loss_plot([self._row()], series(self._rows()))

    def plot_accuracy(self) -> Figure:
        """The validation accuracy against epochs, with chance level."""
        from trainwell.report.curves import series
        from trainwell.report.notebook import accuracy_plot

        exp = self._experiment()
        return accuracy_plot(exp.runs, series(self._rows()), num_classes=exp.num_classes)

    def _rows(self) -> list[tuple[str, int, str, float | None]]:
        from trainwell.run.store import metric_rows

        return metric_rows(self.id, self.outcome.history)

    def _row(self) -> RunRow:
        """The run as a store would hold it."""
        h = self.outcome.history
        recipe = self.recipe.to_dict()
        return RunRow(id=self.id, experiment="", label=self.label, point={},
                      seed=self.recipe.train.seed, recipe=recipe, status=h.status,
                      error=h.traceback or h.error, attempts=1, started=None,
                      finished=None, seconds=h.seconds, final=dict(h.final),
                      diverged_step=h.diverged_step, stop_reason=h.stop_reason,
                      verdicts=h.verdicts, device=self.outcome.device)

    def _experiment(self) -> Experiment:
        from trainwell.report.notebook import Experiment
        from trainwell.report.table import results_grid, runs_classes

        runs = [self._row()]
        num_classes = runs_classes(runs)
        return Experiment(self.label, self.recipe.note, runs,
                          results_grid(runs, [], num_classes=num_classes), num_classes)

    def _repr_html_(self) -> str:
        from trainwell.report.notebook import table_html

        return table_html(self._experiment(), title=f"{self.label}: {self.status}")

    def __repr__(self) -> str:
        shown: dict[str, Any] = {k: round(v, 4) for k, v in self.metrics.items()
                                 if k in ("train_acc", "test_acc") and v is not None}
        return f"Run({self.label!r}, status={self.status!r}, {shown})"
