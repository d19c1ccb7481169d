"""The names of the metrics a run records, in one place: the trainer writes them, the store,
the exports and the report read them.

Per optimizer step: :data:`LOSS`, :data:`STEP_LR` (under a schedule), and every few steps
:func:`layer_metric` rows (``grad_norm/<layer>``, ``act_std/<layer>``). Per epoch, at the
step it ended: :func:`split_metric` names (``train_loss``, ``val_acc``, ...), :data:`LR`
and :data:`SECONDS`, beside :data:`EPOCH` and :data:`STEP`, which say where it ended. A
run's final metrics use the split names too; a run whose final prediction averages (weights,
snapshots, test views) keeps its trained model's own with a suffix (:data:`OWN_SUFFIXES`).

>>> split_metric("val", "acc"), layer_metric(GRAD_NORM, "hidden.0")
('val_acc', 'grad_norm/hidden.0')
"""

from __future__ import annotations

__all__ = ["LOSS", "STEP_LR", "LR", "SECONDS", "EPOCH", "STEP", "GRAD_NORM", "ACT_STD",
           "LAYER_METRICS", "STEP_METRICS", "SPLITS", "TRAIN_LOSS", "TRAIN_ACC", "VAL_LOSS",
           "VAL_ACC", "TEST_LOSS", "TEST_ACC", "OWN_SUFFIXES", "OWN_TEST_ACC", "split_metric",
           "layer_metric", "VERDICT", "verdict_metric"]

LOSS = "loss"
"""The minibatch loss of every optimizer step."""
STEP_LR = "step_lr"
"""The lr every optimizer step used (under a schedule)."""
LR = "lr"
"""The lr at the end of an epoch."""
SECONDS = "seconds"
"""Time an epoch took."""
EPOCH = "epoch"
STEP = "step"

GRAD_NORM = "grad_norm"
"""Per layer: the norm of its weight gradient, ``grad_norm/<layer>``."""
ACT_STD = "act_std"
"""Per layer: the std of its activations, ``act_std/<layer>``."""
LAYER_METRICS = (GRAD_NORM, ACT_STD)

VERDICT = "verdict"
"""The live monitor's symptoms: ``verdict/<symptom>`` = 1 at the step it found each."""

STEP_METRICS = (LOSS, STEP_LR, f"{GRAD_NORM}/", f"{ACT_STD}/", f"{VERDICT}/")
"""Metrics recorded per optimizer step (names, or prefixes ending in ``/``); the rest are
per epoch."""

SPLITS = ("train", "val", "test")


def verdict_metric(kind: str) -> str:
    """``"verdict/nan"``: the live monitor found symptom ``kind`` at that step."""
    return f"{VERDICT}/{kind}"


def split_metric(split: str, what: str) -> str:
    """``"val_acc"``: metric ``what`` (``loss`` or ``acc``) on ``split``."""
    return f"{split}_{what}"


def layer_metric(kind: str, layer: str) -> str:
    """``"grad_norm/hidden.0"``: per-layer metric ``kind`` of layer ``layer``."""
    return f"{kind}/{layer}"


TRAIN_LOSS, TRAIN_ACC = split_metric("train", "loss"), split_metric("train", "acc")
VAL_LOSS, VAL_ACC = split_metric("val", "loss"), split_metric("val", "acc")
TEST_LOSS, TEST_ACC = split_metric("test", "loss"), split_metric("test", "acc")

OWN_SUFFIXES = ("raw", "last", "single")
"""Final metrics keep the trained model's own value as ``<metric>_<suffix>`` when the run's
final prediction is more than that model: before weight averaging (``raw``), the last
snapshot of a snapshot ensemble (``last``), one test view (``single``)."""
OWN_TEST_ACC = tuple(f"{TEST_ACC}_{suffix}" for suffix in OWN_SUFFIXES)
