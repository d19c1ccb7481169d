"""What a run is handed besides its recipe: one value, from whoever starts it.

:func:`trainwell.execute.execute` takes a recipe and a :class:`RunContext`. The recipe says what
to train (and fixes the run id); the context says where and with what: the device a backend
placed it on, the run folder its checkpoints and live logs go to, the checkpoint it resumes
from, the transfer source's weights, the dataset already prepared, and callbacks of the caller's
own (a progress bar, a monitor). None of it changes the run id.

>>> RunContext().folder is None and RunContext(device="cpu").device == "cpu"
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from trainwell.run_folder import RunFolder

if TYPE_CHECKING:
    from trainwell.data import Dataset
    from trainwell.loop import Callback, Checkpoint

__all__ = ["RunContext"]


@dataclass(frozen=True)
class RunContext:
    """How one run is executed.

    ``device``: where it trains (``None``: the recipe's ``train.device``); ``folder``: the
    :class:`~trainwell.run_folder.RunFolder` its checkpoints (``train.checkpoint_every``) and
    TensorBoard events (``train.log_to``) go to while it trains (``None``: neither is written);
    ``resume``: the checkpoint to continue from (see :func:`trainwell.execute.resume_point`);
    ``source``: the weights of the recipe's ``[transfer]`` source (``None``: a source on disk is
    read, a source recipe trained first); ``dataset``: the recipe's data, already on
    ``device``; ``callbacks``: extra trainer callbacks; ``keep_model``: keep the trained model
    on the outcome (in-process only); ``artifacts``: the caller keeps the run's artifacts
    (``False``: a run whose final prediction is its trained model's, with no test-time views,
    snapshot ensemble or averaged weights, computes no predictions; its final metrics are the
    same either way); ``diagnose``: the trained model is judged: the final diagnosis of a run
    with ``train.record_every``, and the final loss and accuracy on the training set
    (``False``: its live monitor's verdicts and its validation and test metrics alone).
    """

    device: str | None = None
    folder: RunFolder | None = None
    resume: Checkpoint | None = None
    source: Mapping[str, torch.Tensor] | None = None
    dataset: Dataset | None = None
    callbacks: Sequence[Callback] = field(default_factory=tuple)
    keep_model: bool = False
    artifacts: bool = True
    diagnose: bool = True
