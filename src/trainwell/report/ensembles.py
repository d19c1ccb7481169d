"""Ensembles of stored runs: the ensemble of each grid point's seeds, and any set of runs.

Every finished run keeps its class probabilities (:mod:`trainwell.ensemble.predictions`), so
an ensemble is evaluated from the run folders alone: no model is rebuilt, nothing retrained.
Runs join an ensemble only when they were evaluated on the same inputs and labels (the
fingerprint stored with their predictions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from trainwell.ensemble.evaluate import EnsembleScore, MismatchError, growth_curve, score
from trainwell.ensemble.predictions import Predictions, load_predictions
from trainwell.errors import ConfigError
from trainwell.recipe import parse_override
from trainwell.report.select import MISSING, matches, run_value
from trainwell.run.store_read import RunRow
from trainwell.run_folder import RunFolder

__all__ = ["RunsEnsemble", "seed_ensemble", "snapshot_curve", "evaluate_runs", "select_runs",
           "load_all"]


@dataclass(frozen=True)
class RunsEnsemble:
    """An ensemble of stored runs: the members (in order) and its score."""

    runs: list[RunRow]
    score: EnsembleScore
    curve: list[float]
    split: str


def load_all(folder: str | Path, runs: Sequence[RunRow]) -> dict[str, Predictions | None]:
    """The stored predictions of each finished run (``None`` where a run has none)."""
    return {r.id: load_predictions(RunFolder(Path(folder) / r.id)) if r.status == "done" else None
            for r in runs}


def _members(folder: Path, runs: Sequence[RunRow], split: str,
             loaded: Mapping[str, Predictions | None] | None = None
             ) -> tuple[list[RunRow], list[Predictions]]:
    preds = loaded if loaded is not None else load_all(folder, runs)
    kept = [(r, p) for r in runs if r.status == "done"
            and (p := preds.get(r.id)) is not None and p.probs(split) is not None]
    return [r for r, _ in kept], [p for _, p in kept]


def _check_same_data(runs: Sequence[RunRow], preds: Sequence[Predictions], split: str) -> None:
    """Raise :class:`MismatchError` naming the runs unless all saw the same ``split``."""
    groups: dict[str | None, list[str]] = {}
    for r, p in zip(runs, preds, strict=True):
        groups.setdefault(p.data_id(split), []).append(f"{r.label} · seed {r.seed} ({r.id})")
    if len(groups) > 1:
        parts = "; ".join(f"data {(k or 'unknown')[:12]}: {', '.join(v)}" for k, v in groups.items())
        raise MismatchError(f"these runs were not evaluated on the same {split} set, so their "
                            f"predictions cannot be averaged: {parts}")


def seed_ensemble(folder: str | Path, runs: Sequence[RunRow], *, split: str = "test",
                  loaded: Mapping[str, Predictions | None] | None = None) -> RunsEnsemble | None:
    """The ensemble of a grid point's seeds (``runs``): ``None`` with fewer than two finished
    members with predictions, or when they saw different data. ``loaded``: their predictions,
    already read (:func:`load_all`)."""
    members, preds = _members(Path(folder), runs, split, loaded)
    if len(members) < 2:
        return None
    try:
        return _ensemble(members, preds, split)
    except MismatchError:
        return None


def _ensemble(runs: list[RunRow], preds: list[Predictions], split: str) -> RunsEnsemble:
    _check_same_data(runs, preds, split)
    probs = [p.probs(split) for p in preds]
    y = preds[0].targets(split)
    assert y is not None and all(p is not None for p in probs)
    members = [p for p in probs if p is not None]
    return RunsEnsemble(runs, score(members, y), growth_curve(members, y), split)


def snapshot_curve(folder: str | Path, runs: Sequence[RunRow], *, split: str = "test",
                   loaded: Mapping[str, Predictions | None] | None = None) -> list[float] | None:
    """For runs with snapshot ensembles: accuracy of the ensemble of the last ``m`` snapshots,
    ``m = 1 .. M``, averaged over the runs (``None`` when no run has snapshots)."""
    preds = loaded if loaded is not None else load_all(folder, runs)
    curves = []
    for r in runs:
        p = preds.get(r.id)
        snaps = p.snapshots(split) if p is not None else []
        y = p.targets(split) if p is not None else None
        if len(snaps) >= 2 and y is not None:
            curves.append(growth_curve(snaps[::-1], y))
    if not curves or len({len(c) for c in curves}) != 1:
        return None
    return [sum(c[i] for c in curves) / len(curves) for i in range(len(curves[0]))]


def select_runs(runs: Sequence[RunRow], where: Sequence[str]) -> list[RunRow]:
    """The runs matching every ``key=value`` of ``where``: ``key`` is a grid axis (the value as
    the report shows it, e.g. ``init=he_normal``), ``seed``, ``label``, or a recipe path
    (``optim.lr=0.01``). Raises :class:`ConfigError` for a key no run has."""
    out = list(runs)
    for text in where:
        path, value = parse_override(text, flag="--where")
        key = ".".join(path)
        if key in ("seed", "label"):
            out = [r for r in out if getattr(r, key) == value or str(getattr(r, key)) == str(value)]
            continue
        if all(run_value(r, key) is MISSING for r in runs):
            axes = sorted({k for r in runs for k in r.point})
            raise ConfigError("--where", text, "key=value with a grid axis "
                              f"({', '.join(axes) or 'none'}), seed, label, or a recipe path "
                              "such as optim.lr")
        out = [r for r in out if matches(r, {key: value})]
    return out


def evaluate_runs(folder: str | Path, runs: Sequence[RunRow], *, split: str = "test") -> RunsEnsemble:
    """The ensemble of ``runs`` (an experiment's, read from ``folder``). Raises
    :class:`MismatchError` when they were evaluated on different data, and
    :class:`~trainwell.errors.TrainwellError` when fewer than one has predictions."""
    from trainwell.errors import TrainwellError

    loaded = load_all(folder, runs)
    lost = [r for r in runs if r.status == "done" and loaded.get(r.id) is None]
    if lost:
        named = ", ".join(f"{r.id} ({r.label} · seed {r.seed})" for r in lost[:5])
        more = f" and {len(lost) - 5} more" if len(lost) > 5 else ""
        raise TrainwellError(f"{len(lost)} of the selected runs are recorded done but their "
                             f"predictions are missing from {str(folder)!r}: {named}{more}; run "
                             "the experiment's compare again to train them again")
    members, preds = _members(Path(folder), runs, split, loaded)
    if not members:
        raise TrainwellError(f"none of the {len(runs)} selected runs has stored {split}-set "
                             "predictions (finished runs keep them in predictions.safetensors)")
    return _ensemble(members, preds, split)
