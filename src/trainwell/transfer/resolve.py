"""Resolve a recipe's ``[transfer]`` source on disk: what it is, and what identifies it.

:func:`trainwell.plan.plan` calls this for every recipe that transfers (the recipe itself was
validated without reading anything):

- a recipe file (``.toml``): read, and replaced by the source recipe, resolved, so the target's
  run id contains the source's;
- a run folder or a weights file: kept as an absolute path, with the digest of the weights
  file (a recipe that already carries one is trusted, so a worker without the file can still
  read it; the weights are checked against it when loaded);
- an inline recipe: already resolved by :meth:`Recipe.from_dict`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from trainwell import _toml
from trainwell.errors import ConfigError
from trainwell.recipe import TransferConfig, source_recipe
from trainwell.transfer.source import file_digest, find_source

__all__ = ["resolve_transfer"]


def resolve_transfer(config: TransferConfig) -> TransferConfig:
    """The resolved ``[transfer]`` of a recipe; :class:`ConfigError` naming the key."""
    src = config.source
    if src is None or isinstance(src, dict):
        return config
    if Path(src).suffix == ".toml":
        path = Path(src)
        if not path.is_file():
            raise ConfigError("transfer.from", src, "an existing recipe file, run folder or "
                              "weights file")
        raw = _toml.read(path, what="transfer source recipe")
        return dataclasses.replace(config, source=source_recipe(raw, config.weights), digest=None)
    if config.digest is not None:
        return config
    files = find_source(src, weights=config.weights)
    return dataclasses.replace(config, source=str(Path(src).resolve()),
                               digest=file_digest(files.weights))
