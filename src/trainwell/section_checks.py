"""Checks that reach past one section's own schema: a section checked against another, or
against the component that reads it; each returns the section with its defaults filled in.

Each check takes the recipe's validated sections by name and returns its own section's new
value; :data:`trainwell.sections.CHECK_ORDER` says in which order they run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean
from trainwell.params import validate_params
from trainwell.section_tables import (
    AugmentConfig,
    AverageConfig,
    EnsembleConfig,
    Section,
    TrainConfig,
    TransferConfig,
)

__all__ = ["check_augment", "check_transfer_options", "check_train", "check_average", "check_ensemble",
           "check_transfer", "transfer_table"]


def check_augment(sections: Mapping[str, Any]) -> AugmentConfig:
    """``[augment]``: every transform known, its options checked and filled in; one kind of
    test-time views (shifts or crops)."""
    from trainwell.data.augment import check_transforms

    augment: AugmentConfig = sections["augment"]
    if augment.test_crop is not None and augment.test_views > 1:
        raise ConfigError("augment.test_crop", augment.test_crop,
                          f"no test_crop together with augment.test_views = "
                          f"{augment.test_views}: one kind of test-time views at a time")
    checked = check_transforms(augment.transforms)
    return dataclasses.replace(augment, transforms=[{"name": n, **o} for n, o in checked])


def check_train(sections: Mapping[str, Any]) -> TrainConfig:
    """``[train]``: a known, installed logger; early stopping on a metric that is evaluated;
    the speed options checked, and left out at their defaults (:mod:`trainwell.loop.speed`), as
    is ``shuffle``."""
    from trainwell.loop.speed import check_speed
    from trainwell.regularize.early_stopping import EarlyStopping, check_recipe_metric

    train: TrainConfig = sections["train"]
    train = dataclasses.replace(train, **check_speed(vars(train),
                                                     optimizer=sections["optim"].name))
    if train.shuffle:
        train = dataclasses.replace(train, shuffle=None)
    if train.log_to is not None:
        _check_log_to(train.log_to)
    if train.stop_on is not None:
        from trainwell.diagnose.monitor import check_stop_on

        check_stop_on(train.stop_on)
    if train.early_stopping is None:
        return train
    given = dict(train.early_stopping)
    metric = check_recipe_metric(given.pop("metric", "val_loss"), eval_every=train.eval_every)
    stop = EarlyStopping(metric, **validate_params(EarlyStopping, given,
                                                   key="train.early_stopping"))
    options = {"metric": stop.metric, "patience": stop.patience, "mode": stop.mode,
               "min_delta": stop.min_delta}
    return dataclasses.replace(train, early_stopping=options)


def _check_log_to(value: str) -> None:
    """``train.log_to``: a known logger, whose writer is installed."""
    from trainwell.loop.tensorboard import LOG_TO, require_tensorboardx

    if value not in LOG_TO:
        raise ConfigError("train.log_to", value, f"one of: {', '.join(LOG_TO)} (or no value: "
                          f"no live logging){did_you_mean(value, LOG_TO)}")
    require_tensorboardx("train.log_to", value)


def check_average(sections: Mapping[str, Any]) -> AverageConfig:
    """``[average]``: the averaging kind's defaults, for a run of ``train.epochs``."""
    from trainwell.ensemble.averaging import average_options

    train: TrainConfig = sections["train"]
    return AverageConfig(**average_options(vars(sections["average"]), train.epochs))


def check_ensemble(sections: Mapping[str, Any]) -> EnsembleConfig:
    """``[ensemble]``: reject combinations with the schedule, averaging or early stopping that
    would not mean what they say (runs after :func:`check_average`)."""
    ens: EnsembleConfig = sections["ensemble"]
    if ens.snapshots is None:
        if ens.use_last is not None:
            raise ConfigError("ensemble.use_last", ens.use_last,
                              "no value without ensemble.snapshots (the snapshots it picks from)")
        return ens
    if ens.use_last is not None and ens.use_last > ens.snapshots:
        raise ConfigError("ensemble.use_last", ens.use_last,
                          f"at most ensemble.snapshots = {ens.snapshots}")
    schedule: Section = sections["schedule"]
    if schedule.name != "constant" or schedule.options.get("warmup", 0):
        raise ConfigError("schedule.name", schedule.name,
                          "constant (no warm-up) with [ensemble] snapshots: the snapshot "
                          "ensemble's cyclic cosine schedule sets the lr")
    average: AverageConfig = sections["average"]
    if average.kind != "none":
        raise ConfigError("average.kind", average.kind,
                          "none with [ensemble] snapshots (one or the other per run)")
    train: TrainConfig = sections["train"]
    if train.early_stopping is not None:
        raise ConfigError("train.early_stopping", train.early_stopping,
                          "no early stopping with [ensemble] snapshots (every cycle must run)")
    return ens


def check_transfer(sections: Mapping[str, Any]) -> TransferConfig:
    """``[transfer]`` without reading anything: the options that need ``from``. An inline
    source recipe is validated by :meth:`~trainwell.recipe.Recipe.from_dict`; a source on disk
    is resolved by :func:`trainwell.plan.plan`."""
    config: TransferConfig = sections["transfer"]
    check_transfer_options(config, epochs=sections["train"].epochs)
    return config


def check_transfer_options(config: TransferConfig, *, epochs: int | None) -> None:
    """The ``[transfer]`` options checked without reading anything: none set without
    ``transfer.from``; ``unfreeze_at`` only with something frozen, and inside a run of
    ``epochs`` epochs (``None``: not checked)."""
    if config.source is None:
        default = TransferConfig()
        for f in dataclasses.fields(config):
            if getattr(config, f.name) != getattr(default, f.name):
                raise ConfigError(f"transfer.{f.name}", getattr(config, f.name),
                                  "no value without transfer.from (the run, weights file or "
                                  "recipe to transfer from)")
        return
    if config.unfreeze_at and config.freeze == "none":
        raise ConfigError("transfer.unfreeze_at", config.unfreeze_at,
                          "no epochs with transfer.freeze = \"none\" (nothing is frozen)")
    if epochs is not None:
        from trainwell.transfer.freeze import check_unfreeze_at

        check_unfreeze_at(config.unfreeze_at, epochs=epochs)


def transfer_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """``[transfer]`` with TOML's ``from`` under its field name ``source``."""
    out = dict(table)
    if "source" in out:
        raise UnknownOptionError("transfer.source", out["source"],
                                 "a known option; the source is set by transfer.from")
    if "from" in out:
        out["source"] = out.pop("from")
        if not isinstance(out["source"], (str, Mapping)):
            raise ConfigError("transfer.from", out["source"], "a run folder, a .safetensors "
                              "weights file or a recipe .toml file (a path string), or an "
                              "inline recipe table")
    freeze = out.get("freeze", "none")
    if freeze not in ("none", "features") and (
            isinstance(freeze, bool) or not isinstance(freeze, int) or freeze < 0):
        raise ConfigError("transfer.freeze", freeze, "none, features (all but the head) or the "
                          "number of layer groups to freeze from the bottom (>= 0)")
    return out
