import pytest
import torch
from torch.autograd.functional import hessian

from trainwell.optim import SURFACES, Surface

NAMES = sorted(SURFACES)


def grad_at(surface: Surface, point) -> torch.Tensor:
    xy = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    surface(xy).backward()
    return xy.grad


@pytest.mark.parametrize("name", NAMES)
def test_the_minimum_is_a_minimum_and_the_lowest_point_of_the_window(name):
    s = SURFACES[name]
    assert s.name == name
    assert grad_at(s, s.minimum).abs().max() < 1e-9
    h = hessian(s.fn, torch.tensor(s.minimum, dtype=torch.float64))
    assert torch.linalg.eigvalsh(h).min() > 0
    x0, x1, y0, y1 = s.window
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, 301, dtype=torch.float64),
                            torch.linspace(y0, y1, 301, dtype=torch.float64), indexing="xy")
    z = s(torch.stack([gx, gy]))
    assert z.shape == gx.shape
    assert z.min() >= s.f_min - 1e-12
    assert x0 < s.minimum[0] < x1 and y0 < s.minimum[1] < y1
    assert x0 < s.start[0] < x1 and y0 < s.start[1] < y1
    assert s.lr > 0 and s.description


@pytest.mark.parametrize("name", NAMES)
def test_the_grid_evaluation_matches_the_pointwise_one(name):
    s = SURFACES[name]
    points = torch.tensor([[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]], dtype=torch.float64)
    grid = s(points.T)
    for point, value in zip(points, grid, strict=True):
        assert float(s(point)) == pytest.approx(float(value), rel=1e-12)


def test_local_minima_are_minima_above_the_global_one():
    for s in SURFACES.values():
        for point in s.local_minima:
            assert grad_at(s, point).abs().max() < 1e-9
            value = float(s(torch.tensor(point, dtype=torch.float64)))
            assert value > s.f_min + 0.1
    assert SURFACES["valley"].local_minima and SURFACES["noisy_valley"].grad_noise > 0


def test_the_taco_is_ill_conditioned_and_the_saddle_is_a_saddle():
    h = hessian(SURFACES["taco"].fn, torch.zeros(2, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(h)
    assert float(eig.max() / eig.min()) == pytest.approx(100)
    saddle = SURFACES["saddle"]
    eig = torch.linalg.eigvalsh(hessian(saddle.fn, torch.zeros(2, dtype=torch.float64)))
    assert eig.min() < 0 < eig.max()
    assert grad_at(saddle, (0.0, 0.0)).abs().max() == 0
    assert abs(saddle.start[1]) < 1e-5  # starts on the ridge, a hair off the axis


def test_known_minima_values():
    assert SURFACES["rosenbrock"].f_min == 0 and SURFACES["beale"].f_min == pytest.approx(0)
    assert SURFACES["saddle"].f_min == pytest.approx(-0.25)
    assert SURFACES["valley"].f_min == pytest.approx(-0.3054, abs=1e-4)
