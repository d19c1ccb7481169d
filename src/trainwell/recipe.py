"""Recipes: one TOML table per concern, validated into frozen, typed objects.

A recipe says everything a run needs::

    name = "relu-he"            # optional, shown in reports
    [data]   name = "mnist1d"   # + the loader's options (num_samples, labels_fraction, ...)
    [model]  name = "mlp"       # or "package.module:factory"; + depth, width, activation, ...
    [init]   name = "he_normal" # + the scheme's options, and bias
    [optim]  name = "adam"      # + lr, weight_decay, ...
    [schedule] name = "cosine"  # learning-rate schedule + per, warmup and its options
    [train]  epochs = 20        # batch_size, seed, eval_every, device, threads

Each section's options are checked against the keyword-only signature of the function they
feed (see :mod:`trainwell.params`), so the recipe and the library share one schema; what each
section is, its defaults and its cross-checks are in the registry :mod:`trainwell.sections`.
``Recipe.from_dict(r.to_dict()) == r`` and the TOML round-trips exactly.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainwell import _toml
from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean
from trainwell.section_tables import (
    AugmentConfig,
    AverageConfig,
    EnsembleConfig,
    RegularizeConfig,
    Section,
    TrainConfig,
    TransferConfig,
)
from trainwell.sections import CHECK_ORDER, SECTIONS, SectionSpec

__all__ = ["Recipe", "Section", "TrainConfig", "RegularizeConfig", "AugmentConfig",
           "EnsembleConfig", "AverageConfig", "TransferConfig", "DEFAULTS",
           "load_recipe", "apply_overrides", "parse_override", "takes_option"]

TOP_LEVEL = ("name", "note")

DEFAULTS: dict[str, Any] = {name: dict(spec.default) for name, spec in SECTIONS.items()}
"""Each section's table when a recipe leaves it out."""


def takes_option(section: str, name: str, option: str) -> bool:
    """True when component ``name`` of ``section`` has an option called ``option``.

    >>> takes_option("init", "dbn", "epochs"), takes_option("init", "he_normal", "epochs")
    (True, False)
    """
    spec = SECTIONS[section]
    probe = {option: _PROBE} if spec.table is not None else {"name": name, option: _PROBE}
    try:
        spec.validate(probe)
    except UnknownOptionError as exc:
        return exc.key != f"{section}.{option}"
    except ConfigError:
        return True
    return True


_PROBE = object()
"""A value no option accepts: validating it tells an unknown option from a wrong value."""


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; build one with :meth:`from_dict` or :func:`load_recipe`.

    >>> r = Recipe.from_dict({"optim": {"name": "sgd", "lr": 0.1}})
    >>> r.optim.options["lr"], r.model.name
    (0.1, 'mlp')
    """

    data: Section
    model: Section
    init: Section
    optim: Section
    schedule: Section
    train: TrainConfig
    name: str = ""
    note: str = ""
    regularize: RegularizeConfig = field(default_factory=RegularizeConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    average: AverageConfig = field(default_factory=AverageConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Recipe:
        if not isinstance(raw, Mapping):
            raise ConfigError("recipe", raw, "a table of sections")
        known = (*SECTIONS, *TOP_LEVEL)
        for key in raw:
            if key not in known:
                raise ConfigError(str(key), raw[key], f"a known section; allowed: "
                                  f"{', '.join(known)}{did_you_mean(str(key), known)}")
        for key in TOP_LEVEL:
            if not isinstance(raw.get(key, ""), str):
                raise ConfigError(key, raw[key], "a string")
        sections: dict[str, Any] = {name: spec.validate(raw.get(name, spec.default))
                                    for name, spec in SECTIONS.items()}
        for name in CHECK_ORDER:
            check = SECTIONS[name].check
            assert check is not None, f"[{name}] has a cross-check"
            sections[name] = check(sections)
        return cls(**sections, name=raw.get("name", ""), note=raw.get("note", ""))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in TOP_LEVEL if getattr(self, k)}
        for name, spec in SECTIONS.items():
            value = getattr(self, name)
            if not _left_out(spec, value):
                out[name] = value.to_dict() if isinstance(value, Section) else {
                    ("from" if k == "source" else k): copy.deepcopy(v)
                    for k, v in vars(value).items() if v is not None}
        return out

    def to_toml(self) -> str:
        return _toml.dumps(self.to_dict())

    def replace(self, overrides: Sequence[str]) -> Recipe:
        """A new recipe with ``key.path=value`` overrides applied to this one's dict."""
        return Recipe.from_dict(apply_overrides(self.to_dict(), overrides))


def _left_out(spec: SectionSpec, value: Any) -> bool:
    """An optional section at its default, left out of a recipe's dict (and its run id)."""
    return spec.optional and spec.table is not None and value == spec.table()


def parse_override(text: str, *, flag: str = "--set") -> tuple[list[str], Any]:
    """Split ``"optim.lr=0.1"`` into ``(["optim", "lr"], 0.1)``; the value is read as TOML,
    and taken as a plain string when it is not valid TOML (``init.name=he_normal``).
    A malformed ``text`` raises :class:`ConfigError` naming ``flag``, the option it came from.

    >>> parse_override("init", flag="--where")
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: --where = 'init': expected key.path=value, e.g. optim.lr=0.1
    """
    if "=" not in text:
        raise ConfigError(flag, text, "key.path=value, e.g. optim.lr=0.1")
    key, _, value = text.partition("=")
    path = [p.strip() for p in key.strip().split(".")]
    if not all(path):
        raise ConfigError(flag, text, "key.path=value, e.g. optim.lr=0.1")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return path, parsed


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.path=value`` set. Changing a section's
    ``name`` drops that section's other options, which belonged to the old name."""
    out = copy.deepcopy(dict(raw))
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(".".join(path), value, f"a key inside a table; {part} is a value")
            node = child
        if path[-1] == "name" and len(path) == 2 and node.get("name") not in (None, value):
            node.clear()
        node[path[-1]] = value
    return out


def load_recipe(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Recipe:
    """Read and validate a recipe file (``None``: the default recipe), then apply overrides."""
    raw = _toml.read(path, what="recipe file") if path is not None else {}
    if path is not None:
        from trainwell.sweep import anchor_paths

        raw = anchor_paths(raw, Path(path).parent)
    return Recipe.from_dict(apply_overrides(raw, overrides))
