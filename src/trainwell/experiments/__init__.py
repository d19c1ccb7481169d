"""Built-in experiments: sweep files that ship with trainwell, by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["EXPERIMENTS", "experiment_path"]

EXPERIMENTS = {
    "init": "a deep MLP on mnist1d: init {zeros, uniform(-1,1), lecture_xavier, he_normal, "
            "lsuv, dbn} x activation {sigmoid, relu}",
    "regularize": "a residual 1-D CNN that overfits 900 mnist1d samples: each regularizer alone, "
                  "then the helpful ones combined",
    "ensembles": "the residual CNN of regularize with batch norm: single model, snapshot "
                 "ensemble, EMA, SWA; 5 seeds each",
    "transfer": "a CNN trained on mnist5k digits 0-4, moved to 5-9 with 1-100 labels per class: "
                "scratch, linear head, fine-tuning",
    "augment_colour": "a 2-D CNN on colour_mnist with 100 labels per class: flips, random crops, "
                      "colour jitter, fancy PCA, combined, 5-crop testing",
}


def experiment_path(name: str) -> Path:
    """The sweep file of built-in experiment ``name``."""
    from trainwell.names import get

    get(EXPERIMENTS, name, key="experiment")
    return Path(str(resources.files(__package__) / f"{name}.toml"))
