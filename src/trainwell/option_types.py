"""Recipe option types that packages of the same layer share (``init`` and ``models``).

Each is an ``Annotated`` type that :func:`~trainwell.params.validate_params` reads from a
function's signature, so every function that takes the option checks it the same way.

>>> from trainwell.params import validate_params
>>> def f(*, negative_slope: NegativeSlope = 0.01): ...
>>> validate_params(f, {"negative_slope": 0.2}, key="model")
{'negative_slope': 0.2}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["NegativeSlope"]

NegativeSlope = Annotated[float, Field(ge=0)]
"""The leaky_relu slope for x < 0: a number >= 0."""
