"""Transfer learning in a run: load the source's weights into the target network, and the
optimizer groups and callbacks that freeze, scale and unfreeze its layers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from trainwell.errors import ConfigError
from trainwell.run_folder import RunFolder
from trainwell.transfer.freeze import Freeze, check_freeze, frozen_count, param_groups
from trainwell.transfer.groups import layer_groups
from trainwell.transfer.source import file_digest, find_source, load_into, read_weights

if TYPE_CHECKING:
    from trainwell.recipe import TransferConfig

__all__ = ["source_weights", "start_from", "transfer_params", "transfer_callbacks"]


def source_weights(config: TransferConfig) -> dict[str, torch.Tensor]:
    """The weights of a source on disk (a run folder or a weights file), checked against the
    digest the recipe was resolved with."""
    if not isinstance(config.source, str):
        raise ConfigError("transfer.from", "a recipe", "a source on disk here; a recipe source "
                          "is trained first and its weights passed in")
    files = find_source(config.source, weights=config.weights)
    digest = file_digest(files.weights)
    if config.digest is not None and digest != config.digest:
        raise ConfigError("transfer.from", config.source,
                          f"the weights the recipe names (digest {config.digest}); "
                          f"{files.weights.name} has changed since (digest {digest})")
    return read_weights(files.weights)


def start_from(model: torch.nn.Module, config: TransferConfig,
               weights: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Copy the source ``weights`` into ``model`` (all but a new head); a summary for the
    run's history. ``freeze`` and the weights' fit are checked here again, for a network the
    recipe's reading could not build: :class:`ConfigError` names ``transfer.freeze``, or
    ``transfer.from`` and the weights file."""
    groups = layer_groups(model)
    frozen = check_freeze(config.freeze, config.unfreeze_at, [g.name for g in groups])
    summary = load_into(model, weights, head=config.head, source=_weights_named(config))
    return {**summary, "groups": [g.name for g in groups],
            "frozen": [g.name for g in groups[:frozen]], "head": config.head}


def _weights_named(config: TransferConfig) -> str:
    """The weights file a source on disk names (a run folder's by ``weights``), for messages."""
    if not isinstance(config.source, str):
        return "the weights of the source recipe's run"
    path = Path(config.source)
    return str(path if path.suffix == ".safetensors" else RunFolder(path).weights(config.weights))


def transfer_params(model: torch.nn.Module, lr: float,
                    config: TransferConfig) -> list[dict[str, Any]] | None:
    """Optimizer param groups with discriminative learning rates (``None`` when every layer
    trains at the recipe's lr)."""
    if config.source is None or config.lr_mult == 1.0:
        return None
    return param_groups(model, lr, config.lr_mult)


def transfer_callbacks(model: torch.nn.Module, config: TransferConfig) -> list[Freeze]:
    """The callback that freezes and unfreezes layer groups, when anything is frozen."""
    if config.source is None:
        return []
    frozen = frozen_count(config.freeze, len(layer_groups(model)))
    return [Freeze(model, frozen=frozen, unfreeze_at=config.unfreeze_at)] if frozen else []
