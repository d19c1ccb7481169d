"""Resolve a recipe's ``[transfer]`` table: what its source is, and what identifies it.

- no ``from``: no transfer, and no other option may be set;
- a recipe (a ``.toml`` path or an inline table): replaced by the source recipe, resolved, so
  the target's run id contains the source's;
- a run folder or a weights file: kept as an absolute path, with the digest of the weights
  file (computed once; a recipe that already carries one is trusted, so a worker without the
  file can still read it; the weights are checked against it when loaded).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.errors import ConfigError

if TYPE_CHECKING:
    from trainwell.recipe import TransferConfig

__all__ = ["resolve_transfer", "source_recipe"]


def resolve_transfer(config: TransferConfig) -> TransferConfig:
    """The resolved ``[transfer]`` of a recipe; :class:`ConfigError` naming the key."""
    from trainwell import _toml
    from trainwell.recipe import Recipe, TransferConfig
    from trainwell.transfer.source import file_digest, find_source

    src = config.source
    if src is None:
        default = TransferConfig()
        for f in dataclasses.fields(config):
            if getattr(config, f.name) != getattr(default, f.name):
                raise ConfigError(f"transfer.{f.name}", getattr(config, f.name),
                                  "no value without transfer.from (the run, weights file or "
                                  "recipe to transfer from)")
        return config
    if config.unfreeze_at and config.freeze == "none":
        raise ConfigError("transfer.unfreeze_at", config.unfreeze_at,
                          "no epochs with transfer.freeze = \"none\" (nothing is frozen)")
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
        return dataclasses.replace(config, source=resolved, digest=None)
    if config.digest is not None:
        return config
    files = find_source(src, weights=config.weights)
    return dataclasses.replace(config, source=str(Path(src).resolve()),
                               digest=file_digest(files.weights))


def source_recipe(config: TransferConfig) -> dict[str, Any] | None:
    """The source recipe to train first, or ``None`` for a source already on disk."""
    return config.source if isinstance(config.source, dict) else None
