"""Resolve a recipe's ``[transfer]`` table: what its source is, and what identifies it.

- no ``from``: no transfer, and no other option may be set;
- a recipe (a ``.toml`` path or an inline table): replaced by the source recipe, resolved, so
  the target's run id contains the source's;
- a run folder or a weights file: kept as an absolute path, with the digest of the weights
  file (computed once; a recipe that already carries one is trusted, so a worker without the
  file can still read it; the weights are checked against it when loaded). The source's
  ``recipe.toml`` must be a valid recipe, and the weights' names and shapes (read from the
  file's header) must fit the target's network.

Given the target's ``[data]`` and ``[model]``, the network is built once on the ``meta`` device
(no memory, no random draws; a user's factory that cannot be built there is built on the CPU)
to check ``freeze`` and ``unfreeze_at`` against its layer groups;
given ``train.epochs``, ``unfreeze_at`` must fall inside the run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from trainwell._spec import is_spec
from trainwell.errors import ConfigError
from trainwell.transfer.freeze import check_freeze
from trainwell.transfer.groups import layer_groups

if TYPE_CHECKING:
    from trainwell.recipe import Section, TransferConfig

__all__ = ["resolve_transfer", "source_recipe", "target_layout"]


def resolve_transfer(config: TransferConfig, *, epochs: int | None = None,
                     data: Section | None = None, model: Section | None = None) -> TransferConfig:
    """The resolved ``[transfer]`` of a recipe whose run trains ``epochs`` epochs on ``data``
    with ``model`` (each ``None``: not checked); :class:`ConfigError` naming the key."""
    from trainwell import _toml
    from trainwell.recipe import Recipe
    from trainwell.section_checks import check_transfer_options
    from trainwell.transfer.source import check_fits, file_digest, find_source, weight_shapes

    check_transfer_options(config, epochs=epochs)
    src = config.source
    if src is None:
        return config
    if isinstance(src, str) and Path(src).suffix == ".toml":
        path = Path(src)
        if not path.is_file():
            raise ConfigError("transfer.from", src, "an existing recipe file, run folder or "
                              "weights file")
        src = _toml.read(path, what="transfer source recipe")
    if isinstance(src, dict):
        try:
            resolved = Recipe.from_dict(src).to_dict()
        except ConfigError as exc:
            raise ConfigError(f"transfer.from.{exc.key}", exc.value, exc.allowed) from None
        if config.weights == "averaged" and resolved.get("average", {}).get("kind", "none") == "none":
            raise ConfigError("transfer.weights", "averaged", "\"final\": the source recipe "
                              "does not average its weights ([average] kind)")
        if (data is not None and model is not None
                and (isinstance(config.freeze, int) or config.unfreeze_at)):
            layout = target_layout(data, model)
            if layout is not None:
                check_freeze(config.freeze, config.unfreeze_at, layout[0])
        return dataclasses.replace(config, source=resolved, digest=None)
    if config.digest is not None:
        return config
    files = find_source(src, weights=config.weights)
    try:
        Recipe.from_dict(_toml.read(files.recipe, what="transfer source recipe"))
    except ConfigError as exc:
        raise ConfigError("transfer.from", src, f"a source whose recipe.toml is a valid recipe; "
                          f"{str(files.recipe)!r} has {exc}") from None
    shapes = weight_shapes(files.weights)
    layout = target_layout(data, model) if data is not None and model is not None else None
    if layout is not None:
        check_freeze(config.freeze, config.unfreeze_at, layout[0])
        check_fits(layout[1], shapes, head=config.head, value=src)
    return dataclasses.replace(config, source=str(Path(src).resolve()),
                               digest=file_digest(files.weights))


def target_layout(data: Section, model: Section
                  ) -> tuple[list[str], dict[str, tuple[int, ...]]] | None:
    """The layer groups (names, bottom to top) and the state-dict shapes of the network
    ``model`` builds for ``data``, built on the ``meta`` device (no memory); a user's factory
    that computes on its weights there is built on the CPU instead. Neither draws from the
    random generators. ``None`` for a network that cannot be built here at all (one that
    needs the run's device), whose run checks them as it starts and fails naming the key.
    Computed once per process for each data and model (a sweep reads many such recipes)."""
    shaping = {k: v for k, v in data.to_dict().items() if k not in _SAMPLING}
    return _layout(json.dumps(shaping, sort_keys=True, default=str),
                   json.dumps(model.to_dict(), sort_keys=True, default=str))


_SAMPLING = ("val_fraction", "labels_fraction", "labels_per_class", "split_seed", "normalize")
"""``[data]`` options that choose or scale samples, never the input shape or the classes."""


@functools.lru_cache(maxsize=64)
def _layout(data_json: str, model_json: str
            ) -> tuple[list[str], dict[str, tuple[int, ...]]] | None:
    from trainwell.data import load_dataset

    data, model = json.loads(data_json), json.loads(model_json)
    meta = load_dataset(data.pop("name"), **data).meta
    name = model.pop("name")
    net = _build(name, meta.input_shape, meta.num_classes, model, device="meta")
    if net is None and is_spec(name):  # a user's factory that computes on its weights
        net = _build(name, meta.input_shape, meta.num_classes, model, device="cpu")
    if net is None:
        return None
    return ([g.name for g in layer_groups(net)],
            {k: tuple(v.shape) for k, v in net.state_dict().items()})


def _build(name: str, input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any],
           *, device: str) -> torch.nn.Module | None:
    """The network, built on ``device`` with the random generators left as they were;
    ``None`` when it cannot be built there."""
    from trainwell.models import build_model

    try:
        with torch.random.fork_rng(devices=[]), torch.device(device):
            return build_model(name, input_shape=input_shape, num_classes=num_classes, **options)
    except Exception:  # a user's factory may raise anything: its run says what, if it fails
        return None


def source_recipe(config: TransferConfig) -> dict[str, Any] | None:
    """The source recipe to train first, or ``None`` for a source already on disk."""
    return config.source if isinstance(config.source, dict) else None
