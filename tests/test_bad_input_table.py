"""Every option of every recipe section, and every flag of every command, given bad input.

The cases are generated from the schemas themselves, so a new option or flag joins on its own:
the recipe sections from the signatures :mod:`trainwell.params` validates against (each
component of a named section, the fixed sections' dataclasses, early stopping's options and
each augmentation transform's); the commands from the typer app's registered functions. Each
option gets a value of a wrong type, a value out of its range (where it declares one, or a
choice it does not offer), ``+inf``, ``-inf`` and ``nan`` (numbers only), and a misspelt
neighbour of its name. Each case must end in exit code 2 with one line on stderr naming the
key (``section.option`` or ``--flag``), no traceback, and nothing written; training would raise
at once (the loader and the runner are replaced), so a check that lets a case through fails
fast instead of training. The number of cases that ran, per section and command, is printed
when the session ends (tests/conftest.py) and checked against a floor here.
"""

from __future__ import annotations

import collections
import importlib
import inspect
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic.fields import FieldInfo

from trainwell import cli, data, init, optim, pretrain
from trainwell.data.augment import TRANSFORMS
from trainwell.models import MODELS, model_options_fn
from trainwell.optim.schedules import SCHEDULES, _common
from trainwell.params import option_fields
from trainwell.regularize.early_stopping import EarlyStopping
from trainwell.sections import SECTIONS

CONFIGS = {name: spec.table for name, spec in SECTIONS.items() if spec.table is not None}
"""The sections with a fixed table of options, read from the registry of sections."""


@dataclass(frozen=True)
class Case:
    group: str                 # the section or command it counts under
    id: str
    argv: tuple[str, ...]
    key: str                   # what the message must name first


# -- values from a type annotation ---------------------------------------------------------

def _kinds(tp: Any) -> set[Any]:
    """The kinds of value an annotation accepts: int, float, bool, str, list, dict, None, Any,
    or a Literal's choices (as ``("literal", choices)``)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(tp)))
    if origin is Literal:
        return {("literal", typing.get_args(tp))}
    if tp is Any:
        return {Any}
    if tp is type(None):
        return {None}
    if origin in (list, tuple) or tp in (list, tuple):
        return {list}
    if origin is dict or tp is dict:
        return {dict}
    if tp in (int, float, bool, str):
        return {tp}
    if isinstance(tp, type) and issubclass(tp, os.PathLike):
        return {str}
    return {object}


def _bounds(field: FieldInfo) -> dict[str, float]:
    """The numeric bounds (ge, gt, le, lt) of a field, also inside ``X | None``."""
    found: dict[str, float] = {}

    def take(items: Any) -> None:
        for m in items:
            if isinstance(m, FieldInfo):
                take(m.metadata)
            for name in ("ge", "gt", "le", "lt"):
                value = getattr(m, name, None)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    found[name] = value

    def walk(tp: Any) -> None:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            take(tp.__metadata__)
            walk(typing.get_args(tp)[0])
        elif origin in (typing.Union, types.UnionType):
            for a in typing.get_args(tp):
                walk(a)

    take(field.metadata)
    walk(field.annotation)
    return found


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value
                                                                 else repr(value))
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _wrong_type(kinds: set[Any]) -> Any:
    """A value of a kind the option does not take (``None`` when it takes anything)."""
    if Any in kinds or object in kinds:
        return None
    literal_strs = any(isinstance(k, tuple) and any(isinstance(c, str) for c in k[1]) for k in kinds)
    for value, kind in (({"a": 1}, dict), ("abc", str), (True, bool), ([1], list)):
        if kind in kinds or (kind is str and literal_strs):
            continue
        return value
    return None


def _out_of_range(kinds: set[Any], bounds: dict[str, float]) -> Any:
    numeric = int in kinds or float in kinds
    whole = int in kinds and float not in kinds
    step = 1 if whole else 0.5
    if numeric and ("ge" in bounds or "gt" in bounds):
        return bounds["ge"] - step if "ge" in bounds else bounds["gt"]
    if numeric and ("le" in bounds or "lt" in bounds):
        return bounds["le"] + step if "le" in bounds else bounds["lt"]
    choices = [c for k in kinds if isinstance(k, tuple) for c in k[1]]
    if choices and all(isinstance(c, str) for c in choices) and str not in kinds:
        return "zzz-not-a-choice"
    return None


def _misspelt(name: str, taken: typing.Iterable[str]) -> str | None:
    """A near miss of ``name`` that is no other option: two letters swapped, or one dropped."""
    others = set(taken)
    candidates = [name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(1, len(name) - 1)]
    candidates += [name[:i] + name[i + 1:] for i in range(1, len(name))]
    for c in candidates:
        if c != name and c not in others and len(c) > 1:
            return c
    return None


def _placeholder(field: FieldInfo) -> Any:
    """A value of the right kind for a required option that is not the one under test."""
    kinds = _kinds(field.annotation)
    for kind, value in ((str, "placeholder"), (float, 1.0), (int, 1), (bool, False)):
        if kind in kinds:
            return value
    raise AssertionError(f"no placeholder for a required option of type {field.annotation}")


# -- recipe sections -------------------------------------------------------------------------

def _schemas() -> list[tuple[str, str, list[str], dict[str, FieldInfo]]]:
    """(group, key prefix, --set lines selecting the component, the component's options)."""
    out = []
    for section, table in (("data", data.DATASETS), ("optim", optim.OPTIMIZERS),
                           ("init", {**init.INITIALIZERS, **pretrain.DATA_INITIALIZERS})):
        for name in table:
            out.append((section, section, [f"{section}.name={_toml(name)}"],
                        option_fields(SECTIONS[section].schema(name))))
    # init.bias is taken by the section itself, not by an initializer's signature
    out.append(("init", "init", ['init.name="he_normal"'],
                {"bias": FieldInfo(annotation=float, default=0.0)}))
    for name in MODELS:
        out.append(("model", "model", [f"model.name={_toml(name)}"],
                    option_fields(model_options_fn(name))))
    for name, factory in SCHEDULES.items():
        out.append(("schedule", "schedule", [f"schedule.name={_toml(name)}"],
                    {**option_fields(_common), **option_fields(factory)}))
    for section, kind in CONFIGS.items():
        fields = option_fields(kind)
        if section == "transfer":  # the TOML key of the source is ``from``
            fields = {("from" if k == "source" else k): v for k, v in fields.items()}
        out.append((section, section, [], fields))
    out.append(("train", "train.early_stopping", [], option_fields(EarlyStopping)))
    for name, transform in TRANSFORMS.items():
        out.append(("augment", f"augment.{name}", [], option_fields(transform.fn)))
    return out


def _recipe_cases() -> list[Case]:
    cases = []
    for group, prefix, select, fields in _schemas():
        component = select[0].split("=", 1)[1].strip('"') if select else ""
        for option, field in fields.items():
            kinds, bounds = _kinds(field.annotation), _bounds(field)
            values: list[tuple[str, Any]] = []
            wrong = _wrong_type(kinds)
            if wrong is not None:
                values.append(("wrong type", wrong))
            far = _out_of_range(kinds, bounds)
            if far is not None:
                values.append(("out of range", far))
            if int in kinds or float in kinds:
                values += [("+inf", float("inf")), ("-inf", float("-inf")), ("nan", float("nan"))]
            typo = _misspelt(option, fields)
            if typo is not None:
                values.append(("misspelt", typo))
            required = {k: _placeholder(f) for k, f in fields.items()
                        if f.is_required() and k != option}
            for what, value in values:
                name, shown = (typo, 1) if what == "misspelt" else (option, value)
                given = {**required, name: shown}
                if prefix.startswith("augment."):
                    transform = prefix.split(".", 1)[1]
                    sets = [f"augment.transforms=[{_toml({'name': transform, **given})}]"]
                else:
                    sets = [*select, *(f"{prefix}.{k}={_toml(v)}" for k, v in given.items())]
                argv = ("train", *[a for s in sets for a in ("--set", s)], "--out", "out")
                label = f"{prefix}{f'[{component}]' if component else ''}.{option}: {what}"
                cases.append(Case(group, label, argv, f"{prefix}.{name}"))
    for section in SECTIONS:
        typo = _misspelt(section, SECTIONS)
        if typo is not None:
            cases.append(Case(section, f"[{section}]: misspelt", ("train", "--set", f"{typo}.x=1",
                                                                 "--out", "out"), typo))
    return cases


# -- command flags ---------------------------------------------------------------------------

REQUIRED = {"report": ["EXP"], "export": ["EXP", "OUT", "--to", "csv"], "ensemble": ["EXP"]}
"""Arguments a command cannot parse without (a folder that need not exist: parsing fails
first)."""


def _flag_cases() -> list[Case]:
    cases = []
    for info in cli.app.registered_commands:
        fn = info.callback
        command = info.name or fn.__name__.replace("_", "-")
        hints = typing.get_type_hints(fn, include_extras=True)
        flags: dict[str, tuple[Any, Any]] = {}
        for name in inspect.signature(fn).parameters:
            hint = hints[name]
            meta = [m for m in getattr(hint, "__metadata__", ()) if hasattr(m, "param_decls")]
            if not meta or type(meta[0]).__name__ != "OptionInfo":
                continue
            decls = [d for d in (meta[0].param_decls or ()) if d.startswith("--")]
            flag = decls[0] if decls else "--" + name.rstrip("_").replace("_", "-")
            flags[flag] = (typing.get_args(hint)[0], meta[0])
        for flag, (tp, option) in flags.items():
            kinds = _kinds(tp)
            values: list[tuple[str, str]] = []
            numeric = int in kinds or float in kinds
            if numeric:
                values.append(("wrong type", "abc"))
                bound = getattr(option.callback, "__self__", None)
                if isinstance(bound, cli.AtLeast):
                    values.append(("out of range", str(bound.low if bound.above else bound.low - 1)))
                values += [("+inf", "inf"), ("-inf", "-inf"), ("nan", "nan")]
            if bool in kinds:
                values.append(("a value for a switch", "yes"))
            typo = _misspelt(flag[2:], [f[2:] for f in flags])
            if typo is not None:
                values.append(("misspelt", f"--{typo}"))
            for what, value in values:
                if what == "misspelt":
                    argv, key = (command, *REQUIRED.get(command, []), value, "1"), value
                elif what == "a value for a switch":
                    argv, key = (command, *REQUIRED.get(command, []), f"{flag}={value}"), flag
                else:
                    argv, key = (command, *REQUIRED.get(command, []), flag, value), flag
                cases.append(Case(f"trainwell {command}", f"{command} {flag}: {what}", argv, key))
    return cases


RECIPE_CASES = _recipe_cases()
FLAG_CASES = _flag_cases()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bad-input")


@pytest.fixture(scope="module")
def command():
    """The app's click command, built once (building it takes longer than most checks)."""
    import typer

    return typer.main.get_command(cli.app)


@pytest.fixture
def never_trains(monkeypatch, command):
    """Loading data or starting a run means a bad value got through: fail at once. The modules
    that bind these functions when imported are imported first, so a module first loaded during
    a check does not keep the refusing stand-in after it."""
    for module in ("trainwell.run.backend", "trainwell.recipe_pretrain", "trainwell.run.single"):
        importlib.import_module(module)

    def refuse(*args, **kwargs):
        raise AssertionError("bad input was accepted: the command went on to load data or run")

    for module, name in (("trainwell.execute", "prepare_data"), ("trainwell.execute", "execute"),
                         ("trainwell.run", "run_sweep")):
        monkeypatch.setattr(importlib.import_module(module), name, refuse)
    monkeypatch.setattr(cli.typer.main, "get_command", lambda app: command)


def _check(case: Case, workdir: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(workdir)
    code = cli.main(list(case.argv))
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, f"{case.id}: exit {code}\n{captured.out}\n{err}"
    assert "Traceback" not in err and len(err.splitlines()) == 1, f"{case.id}: {err}"
    named = re.compile(rf"^error: ({re.escape(case.key)}(\.\d+)? = |.*'{re.escape(case.key)}'"
                       rf"|.*{re.escape(case.key)}\b)")
    assert named.match(err), f"{case.id}: the message does not name {case.key}: {err}"
    assert list(workdir.iterdir()) == [], f"{case.id}: wrote {list(workdir.iterdir())}"


@pytest.mark.parametrize("case", RECIPE_CASES, ids=lambda c: c.id)
def test_every_recipe_option_refuses_bad_values(case, workdir, capsys, monkeypatch, never_trains):
    _check(case, workdir, capsys, monkeypatch)


@pytest.mark.parametrize("case", FLAG_CASES, ids=lambda c: c.id)
def test_every_command_flag_refuses_bad_values(case, workdir, capsys, monkeypatch, never_trains):
    _check(case, workdir, capsys, monkeypatch)


def test_the_table_covers_every_section_and_command():
    groups = collections.Counter(c.group for c in RECIPE_CASES)
    assert set(groups) == {"data", "model", "init", "optim", "schedule", *CONFIGS}
    assert all(n >= 3 for n in groups.values()), groups
    commands = {c.group for c in FLAG_CASES}
    numeric = {"trainwell compare", "trainwell diagnose", "trainwell playground"}
    assert numeric <= commands
    assert len(RECIPE_CASES) + len(FLAG_CASES) > 500
