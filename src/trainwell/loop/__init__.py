"""Training: the loop, its events and callbacks, the history, checkpoints to resume from, and
saving what a run produced.

A leaf of the package: it knows nothing of diagnosis, pre-training or the runner.
"""

from trainwell.loop.callbacks import ProgressBar
from trainwell.loop.checkpoint import load_history, load_weights, save_run, save_weights
from trainwell.loop.device import resolve_device, set_threads
from trainwell.loop.events import EVENTS, Callback, StopTraining, TrainState
from trainwell.loop.history import STATUSES, History
from trainwell.loop.resume import Checkpoint, Checkpoints, latest_checkpoint
from trainwell.loop.stateful import Stateful
from trainwell.loop.tensorboard import TensorBoardLogger
from trainwell.loop.trainer import evaluate, fit

__all__ = [
    "EVENTS", "Callback", "StopTraining", "TrainState", "History", "STATUSES", "fit", "evaluate",
    "ProgressBar", "save_run", "load_history", "save_weights", "load_weights", "resolve_device",
    "set_threads", "Checkpoint", "Checkpoints", "latest_checkpoint", "Stateful", "TensorBoardLogger",
]
