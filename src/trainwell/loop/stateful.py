"""State that a checkpoint keeps without pickle: tensors as safetensors, the rest as JSON.

A callback with state implements the :class:`Stateful` protocol, like torch modules and
optimizers: ``state_dict() -> dict`` and ``load_state_dict(dict)``. Its dict may hold tensors
anywhere among JSON values (``None``, bools, numbers, strings, lists, dicts with string keys);
:func:`split_tensors` takes the tensors out (each under its path, ``a.b.0``) and leaves a
reference ``{"$tensor": path}`` in their place, :func:`join_tensors` puts them back.

>>> tree, tensors = split_tensors({"best": 0.5, "weights": {"w": torch.ones(2)}}, "cb")
>>> tree, list(tensors)
({'best': 0.5, 'weights': {'w': {'$tensor': 'cb.weights.w'}}}, ['cb.weights.w'])
>>> join_tensors(tree, tensors)["weights"]["w"]
tensor([1., 1.])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeGuard, runtime_checkable

import torch

__all__ = ["Stateful", "has_state", "split_tensors", "join_tensors"]

_REF = "$tensor"


@runtime_checkable
class Stateful(Protocol):
    """An object whose state a checkpoint keeps: ``state_dict()`` returns it (tensors allowed
    inside, by reference: the checkpoint copies them at once), ``load_state_dict(state)`` puts
    a returned state back (tensors arrive on the CPU; tuples come back as lists)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


def has_state(obj: object) -> TypeGuard[Stateful]:
    """Whether ``obj`` implements :class:`Stateful`."""
    return isinstance(obj, Stateful)


def split_tensors(tree: Any, prefix: str) -> tuple[Any, dict[str, torch.Tensor]]:
    """``(tree with a reference in place of each tensor, {path: CPU copy of the tensor})``;
    paths start with ``prefix`` (with ``""``, a top-level key is its own path).

    Raises :class:`TypeError` naming the path of a value that is neither a tensor nor JSON
    (say, a NumPy array or a set), or of a dict key that is not a string.
    """
    tensors: dict[str, torch.Tensor] = {}
    return _split(tree, prefix, tensors), tensors


def _split(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        if path in tensors:
            raise TypeError(f"{path}: two values of the state have this path")
        tensors[path] = value.detach().to("cpu", copy=True).contiguous()
        return {_REF: path}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key == _REF:
                raise TypeError(f"{path}: a state's dict keys must be strings other than "
                                f"{_REF!r}; got {key!r}")
            out[key] = _split(item, f"{path}.{key}" if path else key, tensors)
        return out
    if isinstance(value, (list, tuple)):
        return [_split(item, f"{path}.{i}" if path else str(i), tensors)
                for i, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{path}: a checkpoint keeps tensors and JSON values (numbers, strings, "
                    f"lists, dicts); got a {type(value).__name__}")


def join_tensors(tree: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of :func:`split_tensors`: ``tree`` with each reference replaced by its
    tensor from ``tensors`` (a missing one raises :class:`KeyError` naming it)."""
    if isinstance(tree, dict):
        if set(tree) == {_REF}:
            path = tree[_REF]
            if path not in tensors:
                raise KeyError(f"the checkpoint has no tensor {path!r}")
            return tensors[path]
        return {k: join_tensors(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_tensors(v, tensors) for v in tree]
    return tree
