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
import dataclasses
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
           "load_recipe", "apply_overrides", "parse_override", "takes_option", "anchor_paths",
           "source_recipe"]

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
        transfer: TransferConfig = sections["transfer"]
        if isinstance(transfer.source, dict):
            sections["transfer"] = dataclasses.replace(
                transfer, source=source_recipe(transfer.source, transfer.weights), digest=None)
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


def source_recipe(raw: Mapping[str, Any], weights: str = "final") -> dict[str, Any]:
    """A transfer source given as a recipe, validated and resolved (pure, like the recipe
    that names it); errors name ``transfer.from.<key>``."""
    try:
        resolved = Recipe.from_dict(raw).to_dict()
    except ConfigError as exc:
        raise ConfigError(f"transfer.from.{exc.key}", exc.value, exc.allowed) from None
    if weights == "averaged" and resolved.get("average", {}).get("kind", "none") == "none":
        raise ConfigError("transfer.weights", "averaged", "\"final\": the source recipe "
                          "does not average its weights ([average] kind)")
    return resolved


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
        raw = anchor_paths(raw, Path(path).parent)
    return Recipe.from_dict(apply_overrides(raw, overrides))


def anchor_paths(raw: Any, base: Path) -> Any:
    """``raw`` with every relative ``transfer.from``, ``data.path`` and ``data.labels`` path
    that exists under ``base`` (the folder of the file it was read from) made absolute, so a
    sweep or recipe file names its transfer source and its data relative to itself, wherever
    it is run from.

    >>> anchor_paths({"transfer": {"from": "x.toml"}}, Path("/nowhere"))
    {'transfer': {'from': 'x.toml'}}
    """
    if isinstance(raw, list):
        return [anchor_paths(v, base) for v in raw]
    if not isinstance(raw, Mapping):
        return raw
    out = {k: anchor_paths(v, base) for k, v in raw.items()}
    for section, keys in (("transfer", ("from",)), ("data", ("path", "labels"))):
        tables = out.get(section)
        for table in tables if isinstance(tables, list) else [tables]:
            for key in keys:
                if isinstance(table, dict) and isinstance(table.get(key), str):
                    given = Path(table[key]).expanduser()
                    if not given.is_absolute() and (base / given).exists():
                        table[key] = str((base / given).resolve())
    return out
