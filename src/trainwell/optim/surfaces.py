"""Two-dimensional loss surfaces where the lecture's optimizer pictures can be reproduced.

A :class:`Surface` is a torch function of a point ``xy`` (shape ``(2, ...)``: it also maps a
grid ``(2, H, W)`` to ``(H, W)``) with a start point, a plot window, its known minimum and a
suggested common learning rate. ``grad_noise`` adds seeded Gaussian noise to every gradient
(the playground does it), which mimics the noise of minibatch gradients.

>>> s = SURFACES["taco"]
>>> float(s(torch.tensor(s.minimum))), s.f_min
(0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Surface", "SURFACES", "taco", "saddle", "valley", "rosenbrock", "beale"]


@dataclass(frozen=True)
class Surface:
    """A named 2-D loss ``fn`` with where to start, where to look and where the minimum is.

    ``window`` is ``(x_min, x_max, y_min, y_max)``; ``local_minima`` lists minima that are not
    global; ``lr`` is a learning rate that shows the surface's point when every optimizer
    shares it.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    start: tuple[float, float]
    window: tuple[float, float, float, float]
    minimum: tuple[float, float]
    description: str
    lr: float = 0.01
    grad_noise: float = 0.0
    local_minima: tuple[tuple[float, float], ...] = ()

    def __call__(self, xy: Tensor) -> Tensor:
        return self.fn(xy)

    @property
    def f_min(self) -> float:
        """The loss at the global minimum."""
        return float(self.fn(torch.tensor(self.minimum, dtype=torch.float64)))


def taco(xy: Tensor) -> Tensor:
    """An ill-conditioned quadratic, the lecture's "taco shell": ``f = 0.02 x^2 + 2 y^2``.

    Curvatures 0.04 and 4 (condition number 100): a step that suits ``y`` crawls along ``x``.
    """
    return 0.02 * xy[0] ** 2 + 2 * xy[1] ** 2


def saddle(xy: Tensor) -> Tensor:
    """A saddle at the origin between two minima: ``f = x^2 / 2 + y^4 / 4 - y^2 / 2``.

    On the ridge ``y = 0`` the gradient has no ``y`` part; minima at ``(0, +-1)``, f = -1/4.
    """
    return 0.5 * xy[0] ** 2 + 0.25 * xy[1] ** 4 - 0.5 * xy[1] ** 2


def valley(xy: Tensor) -> Tensor:
    """A tilted double well: ``f = (x^2 - 1)^2 + 0.3 x + y^2``.

    Local minimum near ``(0.96, 0)`` (f = 0.294), global one near ``(-1.036, 0)`` (f = -0.305),
    a bump of f = 1.01 between them.
    """
    return (xy[0] ** 2 - 1) ** 2 + 0.3 * xy[0] + xy[1] ** 2


def rosenbrock(xy: Tensor) -> Tensor:
    """Rosenbrock's banana valley: ``f = (1 - x)^2 + 100 (y - x^2)^2``, minimum (1, 1).

    Rosenbrock, "An automatic method for finding the greatest or least value of a function", 1960.
    """
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


def beale(xy: Tensor) -> Tensor:
    """Beale's function: ``f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2``.

    Flat plateaus and steep walls; minimum (3, 0.5). Beale, "On an iterative method for
    finding a local minimum of a function of more than one variable", 1958.
    """
    x, y = xy[0], xy[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


_VALLEY_GLOBAL = (-1.0355787140888542, 0.0)
_VALLEY_LOCAL = (0.9601495555191059, 0.0)

SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("taco", taco, start=(-4.5, 1.0), window=(-5.0, 5.0, -1.6, 1.6), minimum=(0.0, 0.0),
            lr=0.3, description="ill-conditioned quadratic (condition number 100): SGD flips "
                                "across the steep direction and crawls along the shallow one"),
    Surface("saddle", saddle, start=(-2.0, 1e-6), window=(-2.5, 2.5, -1.6, 1.6),
            minimum=(0.0, 1.0), lr=0.03,
            description="start on the ridge, 1e-6 off the saddle's axis: plain SGD stalls at "
                        "the saddle, momentum and adaptive steps roll off it to a minimum "
                        "(0, +-1)"),
    Surface("valley", valley, start=(1.7, 1.0), window=(-2.0, 2.0, -1.5, 1.5),
            minimum=_VALLEY_GLOBAL, local_minima=(_VALLEY_LOCAL,), lr=0.03,
            description="a local minimum on the way to the global one: SGD is trapped, "
                        "momentum rolls over the bump"),
    Surface("noisy_valley", valley, start=(1.7, 1.0), window=(-2.0, 2.0, -1.5, 1.5),
            minimum=_VALLEY_GLOBAL, local_minima=(_VALLEY_LOCAL,), lr=0.03, grad_noise=1.0,
            description="the valley with Gaussian noise (std 1) on every gradient, like "
                        "minibatch gradients"),
    Surface("rosenbrock", rosenbrock, start=(-1.5, 2.0), window=(-2.0, 2.0, -1.0, 3.0),
            minimum=(1.0, 1.0), lr=1e-3,
            description="a curved, narrow valley: the direction of progress keeps turning"),
    Surface("beale", beale, start=(1.0, 1.5), window=(-1.0, 4.5, -1.5, 2.0),
            minimum=(3.0, 0.5), lr=3e-3,
            description="plateaus and steep walls: gradient scales differ by orders of "
                        "magnitude"),
)}
