"""The options of training an RBM by CD-k or PCD, declared once for one RBM and a deep belief net.

:class:`CDOptions` holds them; :func:`with_cd_options` gives a function that passes them on
(``**options``) the signature that names them, so a recipe is checked against this one
declaration.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Annotated, Any, TypeVar

from pydantic import Field

from trainwell.params import validate_params

__all__ = ["CDOptions", "with_cd_options"]

Fn = TypeVar("Fn", bound=Callable[..., Any])


@dataclass(frozen=True, kw_only=True)
class CDOptions:
    """The options of CD-k and PCD training, the same for one RBM and for a deep belief net.

    Defaults after Hinton's guide (2010) and the code of Hinton & Salakhutdinov (2006):
    ``lr=None`` is 0.1 for Bernoulli visible units and 0.01 for Gaussian ones (guide 4 and
    13.2: one or two orders of magnitude smaller); ``k = 1``; batches of 100 (guide 6; 2006
    code); momentum 0.5 for the first ``momentum_switch_epoch = 5`` epochs, then
    ``final_momentum`` 0.9 (guide 9; 2006 code); weight decay :math:`\\lambda` = 2e-4 on the
    weights only (guide 10; 2006 code). ``persistent=True`` trains by PCD instead of CD-k.

    **Note**: PCD often wants a smaller ``final_momentum`` (0.5) than CD-k: with 0.9 its
    chains lag behind the weights.

    >>> options = CDOptions.checked({"k": 3, "persistent": True}, key="rbm")
    >>> options.k, options.persistent, options.epochs
    (3, True, 10)
    """

    epochs: Annotated[int, Field(ge=1)] = 10
    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    k: Annotated[int, Field(ge=1)] = 1
    persistent: bool = False
    batch_size: Annotated[int, Field(ge=1)] = 100
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.5
    final_momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    momentum_switch_epoch: Annotated[int, Field(ge=0)] = 5
    weight_decay: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 2e-4

    @classmethod
    def checked(cls, options: Mapping[str, Any], *, key: str) -> CDOptions:
        """``options`` checked, the others at their defaults; a bad one raises a
        :class:`~trainwell.errors.ConfigError` naming ``key.<option>``."""
        return cls(**validate_params(cls, options, key=key))


def with_cd_options(fn: Fn) -> Fn:
    """Declare the ``**options`` of ``fn`` as the fields of :class:`CDOptions`, keyword-only.

    ``fn`` runs as written; its signature, which ``help()`` and
    :func:`~trainwell.params.validate_params` read, names the options (with their types and
    defaults) before ``fn``'s own keyword-only parameters. A recipe section that feeds ``fn``
    is then checked against the one declaration in :class:`CDOptions`.

    >>> @with_cd_options
    ... def pretrain(model, *, verbose: bool = False, **options): ...
    >>> list(inspect.signature(pretrain).parameters)[:3]
    ['model', 'epochs', 'lr']
    """
    signature = inspect.signature(fn)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    hints = typing.get_type_hints(CDOptions, include_extras=True)
    declared = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                  annotation=hints[f.name]) for f in fields(CDOptions)]
    keyword_only = [p for p in own if p.kind is p.KEYWORD_ONLY]
    positional = [p for p in own if p.kind is not p.KEYWORD_ONLY]
    fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=positional + declared + keyword_only)
    fn.__annotations__ = {**fn.__annotations__, **{p.name: p.annotation for p in declared}}
    return fn
