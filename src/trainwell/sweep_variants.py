"""Variants: the ``[[sweep.variants]]`` axis of named recipes, each a ``label`` and the partial
sections it changes (``label = "dropout"``, ``model = {dropout = 0.3}``), for comparisons where
each point changes something else (``trainwell compare regularize``). A variant's table merges
into its section; one that names another component replaces the section.

>>> merge_variant({"model": {"name": "mlp", "depth": 2}},
...               {"label": "dropout", "model": {"dropout": 0.3}})
{'model': {'name': 'mlp', 'depth': 2, 'dropout': 0.3}}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from trainwell.errors import ConfigError
from trainwell.sections import SECTIONS

__all__ = ["VARIANT", "VARIANT_LABEL", "merge_variant", "check_variants"]

VARIANT = "variant"
"""The axis of ``[[sweep.variants]]``: named recipes that each change a few sections."""
VARIANT_LABEL = "label"


def merge_variant(raw: dict[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with a variant's section tables merged in; a table that names another component
    (its ``name``) replaces the section instead."""
    out = copy.deepcopy(raw)
    for section, table in variant.items():
        if section == VARIANT_LABEL:
            continue
        current = out.get(section, {})
        renamed = "name" in table and table["name"] != current.get("name")
        out[section] = copy.deepcopy(dict(table)) if renamed else {**current, **copy.deepcopy(table)}
    return out


def check_variants(value: Any) -> tuple[dict[str, Any], ...]:
    """Check ``[[sweep.variants]]``: tables with a unique ``label`` and partial sections."""
    if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError("sweep.variants", value, "an array of tables [[sweep.variants]], each "
                          'with a label and the sections it changes: label = "L2", regularize = '
                          "{l2 = 1e-4}")
    labels = []
    for v in value:
        label = v.get(VARIANT_LABEL)
        if not isinstance(label, str) or not label or label in labels:
            raise ConfigError("sweep.variants.label", label, "a label of its own for every variant")
        labels.append(label)
        for section, table in v.items():
            if section != VARIANT_LABEL and (section not in SECTIONS or not isinstance(table, Mapping)):
                raise ConfigError(f"sweep.variants.{section}", table,
                                  f"a partial table of one of the sections {', '.join(SECTIONS)}")
    return tuple(dict(v) for v in value)
