"""A callable named in a recipe as ``"package.module:function"``: a model or a data factory."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from trainwell.errors import ConfigError, did_you_mean

__all__ = ["load_factory", "is_spec"]


def is_spec(name: object) -> bool:
    """True for a ``"module:attr"`` spec (a built-in name has no colon).

    >>> is_spec("mymodels.nets:small_cnn"), is_spec("mlp")
    (True, False)
    """
    return isinstance(name, str) and ":" in name


def load_factory(spec: str, *, key: str = "model.name") -> Callable[..., Any]:
    """Import ``module`` and return the callable ``attr`` that ``spec = "module:attr"`` names.

    ``attr`` may be dotted (``"mod:Class.build"``). Every failure raises :class:`ConfigError`
    at ``key``: a malformed spec, a module that cannot be imported, a missing attribute, or an
    attribute that is not callable.

    >>> load_factory("collections:OrderedDict").__name__
    'OrderedDict'
    """
    module_name, colon, attr = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    parts = module_name.split(".") + attr.split(".")
    if not colon or not all(p.isidentifier() for p in parts):
        form = ("dataset name or a data factory spec 'package.module:function', e.g. "
                "'mydata.load:splits'" if key.startswith("data") else "model name or a "
                "factory spec 'package.module:factory', e.g. 'mymodels.nets:small_cnn'")
        raise ConfigError(key, spec, f"a built-in {form}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            raise _broken(key, spec, module_name, exc) from exc
        raise ConfigError(key, spec, f"an importable module: there is no module named {exc.name!r} "
                          "(is its folder on sys.path, e.g. in PYTHONPATH?)") from None
    except (ImportError, SyntaxError) as exc:
        raise _broken(key, spec, module_name, exc) from exc
    where = module_name
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(key, spec, f"a name defined in {where!r}, which has no attribute "
                              f"{part!r}{did_you_mean(part, names)}")
        obj, where = getattr(obj, part), f"{where}.{part}"
    if not callable(obj):
        raise ConfigError(key, spec, f"a callable factory; {attr!r} is a {type(obj).__name__}, "
                          "not a function or class")
    return obj


def _broken(key: str, spec: str, module_name: str, exc: BaseException) -> ConfigError:
    return ConfigError(key, spec, f"a module that imports cleanly; importing {module_name!r} "
                       f"raised {type(exc).__name__}: {exc}")

