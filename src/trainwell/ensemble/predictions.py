"""A run's class probabilities on its validation and test sets, and the final model(s) that
produce them.

Every finished run keeps them (``predictions.safetensors`` in its folder), so ensembles of
runs are evaluated later without retraining or reloading a model. The file holds, per split
``val`` and ``test``:

- ``<split>``: the probabilities (float32, samples x classes) of the run's final prediction:
  the trained model's, or its snapshot ensemble's, or its averaged weights', over the test-time
  views when ``augment.test_views > 1`` or ``augment.test_crop`` is set;
- ``<split>_targets``: the labels; ``<split>_set``: the SHA-256 of the inputs (32 bytes), so
  runs evaluated on different data are never mixed;
- with snapshots, ``snapshot<k>_<split>`` for every snapshot ``k`` and ``<split>_last`` (the
  last model alone); with averaging, ``<split>_raw`` (the model before averaging).

:func:`finish` computes them after training and rewrites the final metrics accordingly.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from trainwell.data.dataset import Dataset
from trainwell.data.tta import predict_tta
from trainwell.ensemble.averaging import WeightAverage
from trainwell.ensemble.snapshots import Snapshots, last
from trainwell.loop.history import History
from trainwell.loop.metrics import TEST_ACC, TEST_LOSS, split_metric
from trainwell.run_folder import RunFolder

__all__ = ["FILE", "SPLITS", "Predictions", "probabilities", "fingerprint", "finish",
           "load_predictions", "nll_accuracy"]

FILE = RunFolder(".").predictions.name
SPLITS = ("val", "test")


@torch.no_grad()
def probabilities(model: torch.nn.Module, x: torch.Tensor, *, views: int = 1, flip: bool = False,
                  crop: float | None = None, batch_size: int = 4096) -> torch.Tensor:
    """Softmax outputs of ``model`` on ``x`` in eval mode (the mean over ``views`` test-time
    views when ``views > 1``, over the ten crops covering ``crop`` of each side when it is
    given), float32 on ``x``'s device; the model's mode is restored.

    >>> m = torch.nn.Linear(3, 2)
    >>> probabilities(m, torch.randn(5, 3)).sum(1).allclose(torch.ones(5))
    True
    """
    if views > 1 or crop is not None:
        return predict_tta(model, x, views, flip=flip, crop=crop).float()
    was = model.training
    model.eval()
    try:
        return torch.cat([model(x[i:i + batch_size]).float().softmax(1)
                          for i in range(0, len(x), batch_size)])
    finally:
        model.train(was)


def fingerprint(x: torch.Tensor) -> torch.Tensor:
    """SHA-256 of a tensor's shape, dtype and values, as 32 ``uint8``: equal for equal data.

    >>> bool((fingerprint(torch.ones(2)) == fingerprint(torch.ones(2))).all())
    True
    """
    t = x.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{tuple(t.shape)}{t.dtype}".encode())
    digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)


def nll_accuracy(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean negative log-likelihood and accuracy of probabilities ``probs`` for labels ``y``.

    >>> nll_accuracy(torch.tensor([[0.5, 0.5], [0.1, 0.9]]), torch.tensor([0, 1]))[1]
    1.0
    """
    if len(y) == 0:
        return float("nan"), float("nan")
    picked = probs.gather(1, y[:, None]).clamp_min(1e-12)
    return float(-picked.log().mean()), float((probs.argmax(1) == y).float().mean())


@dataclass
class Predictions:
    """One run's stored predictions (see the module for the keys)."""

    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    def probs(self, split: str = "test", member: str = "") -> torch.Tensor | None:
        """``<split>`` probabilities, or those of a ``member`` (``snapshot3``, ``raw``,
        ``last``) when given."""
        key = split if not member else (f"{member}_{split}" if member.startswith("snapshot")
                                        else f"{split}_{member}")
        return self.tensors.get(key)

    def targets(self, split: str = "test") -> torch.Tensor | None:
        return self.tensors.get(f"{split}_targets")

    def data_id(self, split: str = "test") -> str | None:
        """The hex fingerprint of the split's inputs."""
        fp = self.tensors.get(f"{split}_set")
        return None if fp is None else bytes(fp.tolist()).hex()

    def snapshots(self, split: str = "test") -> list[torch.Tensor]:
        """Each snapshot's probabilities, in the order they were taken."""
        out, k = [], 1
        while (p := self.tensors.get(f"snapshot{k}_{split}")) is not None:
            out.append(p)
            k += 1
        return out


def load_predictions(folder: str | Path | RunFolder) -> Predictions | None:
    """The predictions in a run folder, or ``None`` when it has none."""
    from safetensors.torch import load_file

    path = (folder if isinstance(folder, RunFolder) else RunFolder(folder)).predictions
    return Predictions(load_file(str(path))) if path.is_file() else None


def finish(model: torch.nn.Module, dataset: Dataset, history: History, *, test_views: int = 1,
           flip: bool = False, test_crop: float | None = None,
           snapshots: Snapshots | None = None, use_last: int | None = None,
           average: WeightAverage | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """After training: the run's predictions and the weights it adds, as artifacts.

    The final metrics become those of the run's final prediction: the mean softmax of the last
    ``use_last`` snapshots (the last model's stay as ``*_last``), the averaged weights (the
    raw model's stay as ``*_raw``), the mean over test-time views (the single view's stay as
    ``test_*_single``; ``test_crop``: the ten crops instead of ``test_views``). Artifacts:
    ``predictions``, ``averaged`` (weights), ``snapshots/snapshot-<k>`` (weights).
    """
    views = {"train": 1, "val": 1, "test": test_views}
    crops = {"train": None, "val": None, "test": test_crop}
    ys = {s: getattr(dataset, f"y_{s}") for s in ("train", "val", "test")}

    def inputs(split: str) -> torch.Tensor:  # stored inputs are decoded a split at a time
        return dataset.decode(getattr(dataset, f"x_{split}"))

    def predict(net: torch.nn.Module, splits: tuple[str, ...]) -> dict[str, torch.Tensor]:
        return {s: probabilities(net, inputs(s), views=views[s], flip=flip, crop=crops[s])
                for s in splits if len(ys[s])}

    final = dict(history.final)
    base = predict(model, SPLITS)
    tensors: dict[str, torch.Tensor] = {}
    for s in SPLITS:
        tensors[f"{s}_targets"] = ys[s]
        tensors[f"{s}_set"] = fingerprint(inputs(s))
    if (test_views > 1 or test_crop is not None) and "test" in base:
        for metric in (TEST_LOSS, TEST_ACC):
            final[f"{metric}_single"] = final.get(metric)
        final[TEST_LOSS], final[TEST_ACC] = nll_accuracy(base["test"], ys["test"])
    artifacts: dict[str, dict[str, torch.Tensor]] = {}
    chosen = base
    if snapshots is not None and snapshots.weights:
        member = copy.deepcopy(model)
        per: list[dict[str, torch.Tensor]] = []
        for k, weights in enumerate(snapshots.weights, start=1):
            member.load_state_dict(weights)
            per.append(predict(member, ("train", *SPLITS)))
            artifacts[f"snapshots/snapshot-{k}"] = weights
            tensors.update({f"snapshot{k}_{s}": p for s, p in per[-1].items() if s != "train"})
        used = last(per, use_last)
        chosen = {s: torch.stack([p[s] for p in used]).mean(0) for s in used[0]}
        _replace(final, chosen, ys, keep="last")
        tensors.update({f"{s}_last": p for s, p in base.items()})
    elif average is not None:
        averaged = average.averaged(model, inputs("train"))
        chosen = predict(averaged, ("train", *SPLITS))
        _replace(final, chosen, ys, keep="raw")
        tensors.update({f"{s}_raw": p for s, p in base.items()})
        artifacts["averaged"] = {k: v.detach().to("cpu", copy=True)
                                 for k, v in averaged.state_dict().items()}
        history.average = {"kind": average.kind, "updates": average.updates}
    tensors.update({s: chosen[s] for s in SPLITS if s in chosen})
    history.set_final(**final)
    artifacts["predictions"] = {k: v.detach().to("cpu") for k, v in tensors.items()}
    return artifacts


def _replace(final: dict[str, float | None], probs: Mapping[str, torch.Tensor],
             ys: Mapping[str, torch.Tensor], *, keep: str) -> None:
    """Set each split's loss and accuracy from ``probs``; the old values stay as ``*_<keep>``."""
    for s, p in probs.items():
        loss, acc = split_metric(s, "loss"), split_metric(s, "acc")
        for metric in (loss, acc):
            final[f"{metric}_{keep}"] = final.get(metric)
        final[loss], final[acc] = nll_accuracy(p, ys[s])
