"""Built-in experiments: sweep files that ship with trainwell, by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["EXPERIMENTS", "experiment_path"]

EXPERIMENTS = {
    "init": "a deep MLP on mnist1d: init {zeros, uniform(-1,1), lecture_xavier, he_normal, "
            "lsuv, dbn} x activation {sigmoid, relu}",
    "regularize": "a residual 1-D CNN that overfits 900 mnist1d samples: no regularization, each "
                  "regularizer of the lecture alone, and the helpful ones combined",
    "ensembles": "the residual 1-D CNN of regularize, with batch norm, as a single model, a "
                 "snapshot ensemble, with EMA and with SWA, 5 seeds each: what an ensemble of "
                 "seeds or of snapshots gains",
    "transfer": "a CNN trained on mnist5k digits 0-4, transferred to digits 5-9 with 1-100 labels "
                "per class: from scratch, linear head, fine-tuning the top or all layers",
}


def experiment_path(name: str) -> Path:
    """The sweep file of built-in experiment ``name``."""
    from trainwell.names import get

    get(EXPERIMENTS, name, key="experiment")
    return Path(str(resources.files(__package__) / f"{name}.toml"))
