"""Data the user's code makes: ``[data] name = "package.module:function"``.

The function is called with the recipe's ``[data]`` options that are its own (checked against
its signature, like a model factory's) and returns ``(x, y)`` arrays or tensors,
``{"train": (x, y), "val": ..., "test": ...}``, or a ``torch.utils.data.Dataset`` (one, or
one per split), whose samples are ``(tensor, label)`` pairs of one shape. The options every
source shares (``val_fraction``, ``test_fraction``, ``split_seed``, ``normalize``,
``layout``, ...) are trainwell's and are not passed on.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

from trainwell._spec import load_factory
from trainwell.data.arrays import Layout, channels_first
from trainwell.data.dataset import Dataset
from trainwell.data.memory import as_splits
from trainwell.data.prepare import LabelsFraction, LabelsPerClass, Normalize, SplitSeed, ValFraction
from trainwell.data.splits import TestFraction, UserClasses, from_splits
from trainwell.errors import ConfigError, UnknownOptionError, did_you_mean
from trainwell.params import option_names, validate_params

__all__ = ["factory_options", "factory_dataset", "shared_options"]


def shared_options(*, layout: Layout = "auto", val_fraction: ValFraction = 0.1,
                   test_fraction: TestFraction = 0.2, labels_fraction: LabelsFraction = 1.0,
                   split_seed: SplitSeed = 0, normalize: Normalize = "standardize",
                   classes: UserClasses = None, labels_per_class: LabelsPerClass = None
                   ) -> dict[str, Any]:
    """The options of a data factory that trainwell keeps (the schema of ``[data]`` besides the
    factory's own)."""
    return dict(locals())


def factory_options(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked: trainwell's against :func:`shared_options`, the others' names
    against the factory's signature (their values are the factory's business)."""
    fn = load_factory(spec, key="data.name")
    ours = set(option_names(shared_options))
    shared = validate_params(shared_options, {k: v for k, v in options.items() if k in ours},
                             key="data")
    own = {k: v for k, v in options.items() if k not in ours}
    params = _parameters(fn)
    if params is not None:
        named, var_kw = params
        for name, value in own.items():
            if not var_kw and name not in named:
                allowed = ", ".join(sorted(set(named) | ours))
                raise UnknownOptionError(f"data.{name}", value, f"an option of {spec} or of "
                                         f"trainwell; allowed: {allowed}"
                                         f"{did_you_mean(name, [*named, *ours])}")
    return {**own, **shared}


def _parameters(fn: Any) -> tuple[list[str], bool] | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = [n for n, p in sig.parameters.items() if p.kind in kinds]
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    return named, var_kw


def factory_dataset(spec: str, **options: Any) -> Dataset:
    """Call the data factory ``spec`` with its options and build the Dataset it returns.

    >>> ds = factory_dataset("sklearn.datasets:load_iris", return_X_y=True)
    >>> ds.meta.input_shape, ds.meta.num_classes
    ((4,), 3)
    """
    checked = factory_options(spec, options)
    shared = {k: checked.pop(k) for k in option_names(shared_options)}
    fn = load_factory(spec, key="data.name")
    try:
        made = fn(**checked)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError("data.name", spec, f"a factory that returns data; calling it raised "
                          f"{type(exc).__name__}: {exc}") from exc
    splits = as_splits(made, key="data.name")
    said = ""
    for split, (x, y) in list(splits.items()):
        x, said = channels_first(np.asarray(x), shared["layout"], key="data.name", value=spec)
        splits[split] = (x, y)
    if "all" in splits:
        splits["train"] = splits.pop("all")
    layout = shared.pop("layout")
    recorded = {**checked, **({"layout": layout} if layout != "auto" else {}),
                "test_fraction": shared["test_fraction"]}
    return from_splits(splits, name=spec, source=f"{spec}(): {said}", options=recorded,
                       key="data.name", value=spec, **shared)
