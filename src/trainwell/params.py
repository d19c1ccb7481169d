"""Check a recipe section's options against the keyword-only signature of the function they feed.

A loader, model factory, initializer or optimizer declares its options once, as keyword-only
parameters with type hints (constraints via ``Annotated[int, Field(ge=1)]``); this module
turns that signature into a strict validator, so the recipe and the library cannot drift apart.

Every number must be finite: NaN and ±inf are refused for every float option (a ``>= 0`` bound
alone lets ``inf`` through). An option that means something by infinity says so in its
documentation and in its type, ``Annotated[float, Field(allow_inf_nan=True)]``.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import pydantic
from pydantic.fields import FieldInfo

from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean

__all__ = ["validate_params", "option_names", "option_fields", "takes_list"]

_SKIP = frozenset({"generator", "progress"})  # supplied by the caller, not by a recipe


@cache
def _validator(fn: Callable[..., Any]) -> type[pydantic.BaseModel]:
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.name in _SKIP:
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints.get(p.name, Any), default)
    config = pydantic.ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True,
                                 allow_inf_nan=False)
    return pydantic.create_model(f"{fn.__name__}_options", __config__=config, **fields)


def option_names(fn: Callable[..., Any]) -> list[str]:
    """The option names ``fn`` accepts from a recipe."""
    return list(_validator(fn).model_fields)


def option_fields(fn: Callable[..., Any]) -> dict[str, FieldInfo]:
    """Each option ``fn`` accepts from a recipe with its schema: type, bounds and default.

    >>> def f(*, depth: typing.Annotated[int, pydantic.Field(ge=1)] = 3): ...
    >>> field = option_fields(f)["depth"]
    >>> field.annotation, field.metadata, field.default
    (<class 'int'>, [Ge(ge=1)], 3)
    """
    return dict(_validator(fn).model_fields)


def validate_params(fn: Callable[..., Any], params: Mapping[str, Any], *, key: str) -> dict[str, Any]:
    """Return ``params`` checked against ``fn``'s keyword-only options, defaults filled in.

    Raises one :class:`ConfigError` naming ``key.option``, the bad value and what is allowed.

    >>> def f(*, depth: int = 3): ...
    >>> validate_params(f, {}, key="model")
    {'depth': 3}
    >>> def g(*, l2: float = 0.0): ...
    >>> validate_params(g, {"l2": float("inf")}, key="regularize")
    Traceback (most recent call last):
    ...
    trainwell.errors.ConfigError: regularize.l2 = inf: expected a finite number
    """
    model = _validator(fn)
    try:
        checked = model.model_validate(dict(params))
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        # An unknown key first: it is most likely the misspelt name of a required one.
        err = min(errors, key=lambda e: e["type"] != "extra_forbidden")
        loc = ".".join(str(p) for p in err["loc"])
        path = f"{key}.{loc}" if loc else key
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) or "no options"
            name = str(err["loc"][0])
            raise UnknownOptionError(path, err["input"], f"a known option; allowed: {allowed}"
                              f"{did_you_mean(name, model.model_fields)}") from None
        if err["type"] == "missing":
            raise ConfigError(path, None, "a value (this option is required)") from None
        if err["type"] in ("too_short", "too_long"):
            ctx = err.get("ctx", {})
            lo, hi = ctx.get("min_length"), ctx.get("max_length")
            size = f"exactly {lo}" if lo == hi else (f"at least {lo}" if hi is None else
                                                     f"at most {hi}")
            raise ConfigError(path, err["input"], f"a list of {size} items") from None
        raise ConfigError(path, err["input"], _plain(err["msg"])) from None
    return {name: getattr(checked, name) for name in model.model_fields}


def _plain(msg: str) -> str:
    """pydantic says "Input should be ..."; the ConfigError prefix already says "expected"."""
    for prefix in ("Input should be ", "Value should be ", "Value error, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg


def takes_list(fn: Callable[..., Any], option: str) -> bool:
    """True when ``fn``'s option ``option`` is itself a list (``channels = [32, 64]``).

    A sweep uses this to tell a list that is a value from a list of values to try.
    """
    field = _validator(fn).model_fields.get(option)
    if field is None:
        return False
    return _is_list_type(field.annotation)


def _is_list_type(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _is_list_type(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list_type(a) for a in typing.get_args(tp) if a is not type(None))
    return tp in (list, tuple) or origin in (list, tuple)
