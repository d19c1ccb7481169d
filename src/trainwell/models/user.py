"""Models the user writes: a ``"package.module:factory"`` spec names a function that builds one.

The factory receives ``input_shape`` and ``num_classes`` when its signature accepts them
(by name, or through ``**kwargs``), plus the recipe's other model options as keywords, and
must return a :class:`torch.nn.Module`.

Initializers that scale by the activation's gain read it from the model's
``trainwell_activation = (name, negative_slope)`` attribute when the factory sets one, else
from its activation modules when they are all of one kind (``nn.Tanh`` → tanh); a model with
mixed or unrecognized activations needs ``init.nonlinearity`` in the recipe (see
:func:`trainwell.init.apply_`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from trainwell._spec import load_factory
from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean

__all__ = ["load_factory", "check_user_options", "build_user_model"]

_GIVEN = ("input_shape", "num_classes")
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _signature(factory: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins have no introspectable signature
        return None


def _accepts(sig: inspect.Signature | None, name: str) -> bool:
    if sig is None:
        return False
    p = sig.parameters.get(name)
    return (p is not None and p.kind in _NAMED) or any(
        q.kind is inspect.Parameter.VAR_KEYWORD for q in sig.parameters.values())


def check_user_options(factory: Callable[..., Any], options: Mapping[str, Any], *, spec: str,
                       key: str = "model") -> dict[str, Any]:
    """Return ``options`` after checking their names against ``factory``'s signature.

    Unknown option names (when the factory has no ``**kwargs``), options named
    ``input_shape``/``num_classes`` (trainwell passes those) and required parameters without a
    value raise :class:`ConfigError` at ``key.<option>``. Values are passed on unchecked: their
    types are the factory's business.

    >>> def net(input_shape, num_classes, *, hidden=64): ...
    >>> check_user_options(net, {"hidden": 8}, spec="m:net")
    {'hidden': 8}
    """
    for name in _GIVEN:
        if name in options:
            raise ConfigError(f"{key}.{name}", options[name],
                              "no value: trainwell passes input_shape and num_classes from the data")
    sig = _signature(factory)
    if sig is None:
        return dict(options)
    params = sig.parameters
    named = [n for n, p in params.items() if p.kind in _NAMED and n not in _GIVEN]
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name, value in options.items():
        if not var_kw and name not in named:
            allowed = ", ".join(named) or "no options"
            raise UnknownOptionError(f"{key}.{name}", value, f"an option that {spec} accepts; allowed: "
                              f"{allowed}{did_you_mean(name, named)}")
    for name, p in params.items():
        supplied = name in options or (p.kind in _NAMED and name in _GIVEN)
        variadic = p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        if not variadic and p.default is inspect.Parameter.empty and not supplied:
            raise ConfigError(f"{key}.{name}", None, f"a value: {spec} requires the argument {name!r}")
    return dict(options)


def build_user_model(spec: str, *, input_shape: Sequence[int], num_classes: int,
                     options: Mapping[str, Any] | None = None, key: str = "model") -> nn.Module:
    """Load the factory that ``spec`` names, call it, and check that it returned an ``nn.Module``.

    The call is ``factory(input_shape=tuple(input_shape), num_classes=num_classes, **options)``,
    leaving out ``input_shape`` / ``num_classes`` when the factory does not accept them.

    >>> build_user_model("torch.nn:Identity", input_shape=(1, 40), num_classes=10)
    Identity()
    """
    factory = load_factory(spec, key=f"{key}.name")
    options = check_user_options(factory, options or {}, spec=spec, key=key)
    sig = _signature(factory)
    given = {"input_shape": tuple(input_shape), "num_classes": num_classes}
    model = factory(**{n: v for n, v in given.items() if _accepts(sig, n)}, **options)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{key}.name", spec, "a factory that returns a torch.nn.Module; it "
                          f"returned a {type(model).__module__}.{type(model).__qualname__}")
    return model
