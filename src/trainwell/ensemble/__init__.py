"""Model ensembles and weight averaging (CS231n lecture 7, "model ensembles").

- :mod:`~trainwell.ensemble.evaluate`: ensembles of runs from their stored probabilities;
- :mod:`~trainwell.ensemble.snapshots`: snapshot ensembles along a cyclic cosine lr;
- :mod:`~trainwell.ensemble.averaging`: EMA, SWA and Polyak averaging of one run's weights;
- :mod:`~trainwell.ensemble.predictions`: the probabilities every run keeps.
"""

from trainwell.ensemble.averaging import AVERAGING, WeightAverage, average_options
from trainwell.ensemble.evaluate import (
           EnsembleScore,
           MismatchError,
           ensemble_probs,
           growth_curve,
           oracle_accuracy,
           score,
)
from trainwell.ensemble.predictions import Predictions, finish, load_predictions, probabilities
from trainwell.ensemble.snapshots import SNAPSHOT_OPTIONS, Snapshots, snapshot_steps

__all__ = ["AVERAGING", "WeightAverage", "average_options", "EnsembleScore", "MismatchError",
           "ensemble_probs", "growth_curve", "oracle_accuracy", "score", "Predictions",
           "finish", "load_predictions", "probabilities", "SNAPSHOT_OPTIONS", "Snapshots",
           "snapshot_steps"]
