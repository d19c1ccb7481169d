"""Training: the loop, its events and callbacks, and running a recipe end to end."""

from trainwell.train.callbacks import ProgressBar
from trainwell.train.checkpoint import load_history, load_weights, save_run, save_weights
from trainwell.train.device import resolve_device, set_threads
from trainwell.train.events import EVENTS, Callback, StopTraining, TrainState
from trainwell.train.history import STATUSES, History
from trainwell.train.run_recipe import RunResult, build_initialized_model, prepare_data, run_recipe
from trainwell.train.trainer import evaluate, fit

__all__ = [
    "EVENTS", "Callback", "StopTraining", "TrainState", "History", "STATUSES", "fit", "evaluate",
    "ProgressBar", "run_recipe", "RunResult", "prepare_data", "build_initialized_model",
    "save_run", "load_history", "save_weights", "load_weights", "resolve_device", "set_threads",
]
