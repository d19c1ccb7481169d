"""Training: the loop, its events and callbacks, the history, checkpoints to resume from, and
saving what a run produced.

A leaf of the package: it knows nothing of diagnosis, pre-training or the runner.
"""

from trainwell.train.callbacks import ProgressBar
from trainwell.train.checkpoint import load_history, load_weights, save_run, save_weights
from trainwell.train.device import resolve_device, set_threads
from trainwell.train.events import EVENTS, Callback, StopTraining, TrainState
from trainwell.train.history import STATUSES, History
from trainwell.train.resume import Checkpoint, Checkpoints, latest_checkpoint
from trainwell.train.stateful import Stateful
from trainwell.train.tensorboard import TensorBoardLogger
from trainwell.train.trainer import evaluate, fit

__all__ = [
    "EVENTS", "Callback", "StopTraining", "TrainState", "History", "STATUSES", "fit", "evaluate",
    "ProgressBar", "save_run", "load_history", "save_weights", "load_weights", "resolve_device",
    "set_threads", "Checkpoint", "Checkpoints", "latest_checkpoint", "Stateful", "TensorBoardLogger",
]
