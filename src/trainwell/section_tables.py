"""The typed tables of a recipe: a named component with its options (:class:`Section`), and
one frozen dataclass per section that has a fixed set of options (``[train]``,
``[regularize]``, ``[augment]``, ``[ensemble]``, ``[average]``, ``[transfer]``).

Each dataclass is its section's schema: :func:`~trainwell.params.validate_params` checks a
table against its fields' types and constraints, and its defaults are the section's defaults.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

__all__ = ["Section", "TrainConfig", "RegularizeConfig", "AugmentConfig", "EnsembleConfig",
           "AverageConfig", "TransferConfig"]


def _device_name(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise ValueError("auto, cpu, cuda or cuda:N")
    return value


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How long and how to train: the ``[train]`` table.

    ``eval_every``: evaluate val/test every that many epochs (0: only at the end);
    ``record_every``: record per-layer gradient norms and activation stds every that many
    steps (0: off), and judge the final model (:mod:`trainwell.diagnose`);
    ``threads``: torch intra-op threads (0: torch's default); ``device``: ``auto`` picks cuda
    when available, ``cuda:N`` one GPU (a sweep's backend may place a run elsewhere: where it
    ran is recorded, and the run id does not depend on it); ``deterministic``: torch's
    deterministic algorithms (slower on CUDA; bit-identical reruns there too);
    ``early_stopping``: ``{metric = "val_loss", patience = 5}`` stops after ``patience``
    epochs without improvement and restores the best epoch's weights
    (:class:`~trainwell.regularize.EarlyStopping`); ``checkpoint_every``: write a checkpoint
    every that many epochs and at the end (off by default), from which a killed run resumes
    exactly (:mod:`trainwell.loop.checkpoint`); ``log_to``: ``"tensorboard"`` writes the
    run's metrics as TensorBoard events while it trains (off by default;
    :mod:`trainwell.loop.tensorboard`), into ``<run folder>/tensorboard`` of a sweep's run or
    ``OUT/tensorboard`` of ``trainwell train --out OUT``. ``clip_norm``: clip the gradients'
    global norm to this value after every backward pass (off by default;
    :class:`~trainwell.optim.clipping.ClipGradNorm`). ``stop_on``: symptoms of the live monitor
    (:data:`~trainwell.diagnose.SYMPTOMS`, e.g. ``["nan", "exploding"]``) that end the run
    early, recorded as ``diverged`` with the verdict as its reason. ``shuffle``: ``true`` (the
    default) takes the training set in a new random order every epoch, ``false`` in its stored
    order every epoch (batch ``t`` is rows ``t B`` to ``t B + B - 1``), as the mnist1d
    repository's loop does (:mod:`trainwell.loop.batches`); left out of the recipe's dict at
    its default. ``max_steps``: end training after that many optimizer steps, in the middle of
    an epoch if need be (off by default; :class:`~trainwell.loop.callbacks.MaxSteps`), as the
    doctor's screening runs do; the schedule, weight averaging and snapshots keep the timing
    ``epochs`` gives them (an SWA that would start later has no update, an EMA few).

    Speed (:mod:`trainwell.loop.speed`; each left out of the recipe's dict at its default):
    ``precision``: ``fp32``, ``bf16`` or ``fp16`` autocast of the forward pass
    (:mod:`trainwell.loop.precision`); ``compile``: ``true`` or ``"max-autotune"`` compiles
    the model (:mod:`trainwell.loop.compile`); ``channels_last``: channels-last memory for a
    model with 2-D convolutions.
    """

    epochs: Annotated[int, Field(ge=1)] = 20
    batch_size: Annotated[int, Field(ge=1)] = 64
    seed: Annotated[int, Field(ge=0)] = 0
    eval_every: Annotated[int, Field(ge=0)] = 1
    record_every: Annotated[int, Field(ge=0)] = 50
    device: Annotated[str, AfterValidator(_device_name)] = "auto"
    threads: Annotated[int, Field(ge=0)] = 0
    deterministic: bool = False
    early_stopping: dict[str, Any] | None = None
    checkpoint_every: Annotated[int, Field(ge=1)] | None = None
    log_to: str | None = None
    precision: Any = None
    compile: Any = None
    channels_last: Any = None
    clip_norm: Annotated[float, Field(gt=0)] | None = None
    stop_on: list[str] | None = None
    shuffle: bool | None = None
    max_steps: Annotated[int, Field(ge=1)] | None = None


@dataclass(frozen=True, kw_only=True)
class RegularizeConfig:
    """Penalties on the loss: the ``[regularize]`` table.

    ``l2``: :math:`\\lambda_2 \\sum w^2`, ``l1``: :math:`\\lambda_1 \\sum |w|` (both: elastic
    net), over the weights of Linear and Conv layers; ``include_bias`` adds the biases
    (normalization parameters never). See :mod:`trainwell.regularize.penalties`.
    """

    l1: Annotated[float, Field(ge=0)] = 0.0
    l2: Annotated[float, Field(ge=0)] = 0.0
    include_bias: bool = False


def _named_transform(value: Any) -> Any:
    """A transform given by its name alone, ``"shift"``, as the table ``{name = "shift"}``."""
    return {"name": value} if isinstance(value, str) else value


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Data augmentation: the ``[augment]`` table.

    ``transforms``: a list of tables ``{name = "shift", max_shift = 8}``, or of names
    (``"shift"``: its default options), applied in order to every training minibatch
    (:mod:`trainwell.data.augment`); ``test_views``: the final test metrics average the
    softmax over that many fixed views (1: the plain test set): the identity, then small
    shifts (:func:`trainwell.data.tta.view_plan`), and the mirror image when the training
    transforms include ``hflip``; ``test_crop``: instead, AlexNet's 10-crop testing, the mean
    softmax over the centre and the four corner crops covering that fraction of each side
    (each resized to the full image), and their mirrors when the training transforms include
    ``hflip`` (:func:`trainwell.data.augment_crop.ten_crop_views`; off by default).
    """

    transforms: list[Annotated[dict[str, Any], BeforeValidator(_named_transform)]] = field(
        default_factory=list)
    test_views: Annotated[int, Field(ge=1)] = 1
    test_crop: Annotated[float, Field(gt=0, lt=1)] | None = None


@dataclass(frozen=True, kw_only=True)
class EnsembleConfig:
    """A snapshot ensemble from one run: the ``[ensemble]`` table.

    ``snapshots = M`` (at least 2) replaces the schedule by ``M`` cosine cycles of the lr per
    optimizer step and keeps the weights at the end of each cycle; the run's final metrics are
    those of the mean softmax of the last ``use_last`` snapshots (default: all), and the last
    model's stay as ``*_last`` (:mod:`trainwell.ensemble.snapshots`). Without it (the default)
    a run trains one model.
    """

    snapshots: Annotated[int, Field(ge=2)] | None = None
    use_last: Annotated[int, Field(ge=1)] | None = None


@dataclass(frozen=True, kw_only=True)
class AverageConfig:
    """Weight averaging along the run: the ``[average]`` table.

    ``kind``: ``none``, ``ema`` (``decay``), ``swa`` (``start``, ``swa_lr``,
    ``anneal_epochs``) or ``polyak`` (``start``); ``every``: average after every ``step`` or
    ``epoch``; ``update_bn``: recompute batch-norm statistics for the averaged weights. The
    run's final metrics are the averaged model's; the raw one's stay as ``*_raw``
    (:mod:`trainwell.ensemble.averaging`, which also gives the defaults of each kind).
    """

    kind: Literal["none", "ema", "swa", "polyak"] = "none"
    decay: Annotated[float, Field(gt=0, lt=1)] | None = None
    start: Annotated[int, Field(ge=0)] | None = None
    every: Literal["step", "epoch"] | None = None
    swa_lr: Annotated[float, Field(gt=0)] | None = None
    anneal_epochs: Annotated[int, Field(ge=0)] | None = None
    update_bn: bool | None = None


@dataclass(frozen=True, kw_only=True)
class TransferConfig:
    """Start from another run's weights: the ``[transfer]`` table (TOML key ``from`` for
    ``source``).

    ``from``: a run folder, a ``.safetensors`` weights file with its ``recipe.toml`` beside it,
    or a recipe (a ``.toml`` file or an inline table) that is trained first, as a run of its
    own; ``weights``: the source's ``final`` or ``averaged`` weights; ``head``: ``new`` (a
    classifier for the target's classes, initialized by the recipe's init) or ``keep``;
    ``freeze``: ``none``, ``features`` (all but the head) or the first N layer groups;
    ``lr_mult``: each layer group going down trains at that times the lr of the one above;
    ``unfreeze_at``: epochs at which one more frozen group starts training
    (:mod:`trainwell.transfer`). ``digest`` identifies the source's weights file (filled in),
    so the run id changes when the source does.
    """

    source: str | dict[str, Any] | None = None
    weights: Literal["final", "averaged"] = "final"
    head: Literal["new", "keep"] = "new"
    freeze: Literal["none", "features"] | Annotated[int, Field(ge=0)] = "none"
    lr_mult: Annotated[float, Field(gt=0, le=1)] = 1.0
    unfreeze_at: list[Annotated[int, Field(ge=1)]] = field(default_factory=list)
    digest: str | None = None


@dataclass(frozen=True)
class Section:
    """A named component and its resolved options (defaults filled in).

    Options whose value is ``None`` ("not set": TOML has no null) are left out.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", {k: v for k, v in self.options.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **copy.deepcopy(dict(self.options))}
