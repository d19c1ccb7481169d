"""Diagnose why a network does not train: probe one batch, judge the numbers, record during training.

:func:`diagnose` runs one forward and backward pass with hooks and returns a
:class:`Diagnosis`: per-layer activation statistics and histograms, dead and saturated units,
gradient and weight norms, identical units and the update-to-weight ratio, plus
:class:`Verdict` objects that name the cause and a fix (or say the network is healthy).
:class:`GradientFlowRecorder` records per-layer gradient norms and activation stds while
training. :class:`Monitor` (a callback) and :func:`watch` (any loop) measure every N steps
while a network trains and name a symptom as soon as it holds
(:mod:`~trainwell.diagnose.symptoms`).

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
>>> d = diagnose(net, torch.randn(128, 8), torch.randint(0, 3, (128,)))
>>> [s.activation for s in d.layers]
['relu', 'none']
>>> print(d.text().splitlines()[0])
diagnosis on 128 samples, loss ...
>>> len(d.figure().axes)       # a histogram per layer, and the gradient norms by layer
3

``trainwell.diagnose`` (the attribute) is the function :func:`diagnose`; this package is
``importlib.import_module("trainwell.diagnose")``.
"""

from trainwell.diagnose.batch import DIAGNOSE_BATCH, diagnose_batch
from trainwell.diagnose.diagnosis import Diagnosis, LayerStats, Verdict
from trainwell.diagnose.layers import Layer, find_layers
from trainwell.diagnose.monitor import Monitor, check_stop_on
from trainwell.diagnose.probes import probe
from trainwell.diagnose.recorder import GradientFlowRecorder, flow_rows
from trainwell.diagnose.symptoms import FIXES, SYMPTOMS, LiveVerdict
from trainwell.diagnose.verdicts import VERDICT_KINDS, diagnose, judge
from trainwell.diagnose.watch import Watch, watch

__all__ = [
    "diagnose", "probe", "judge", "Diagnosis", "LayerStats", "Verdict", "VERDICT_KINDS",
    "GradientFlowRecorder", "flow_rows", "Layer", "find_layers", "diagnose_batch",
    "DIAGNOSE_BATCH", "Monitor", "check_stop_on", "LiveVerdict", "SYMPTOMS", "FIXES", "watch",
    "Watch",
]
