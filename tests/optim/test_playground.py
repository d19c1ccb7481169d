import json
import math
import re

import numpy as np
import pytest
import torch
from rich.table import Table

from trainwell.errors import ConfigError
from trainwell.optim import SURFACES, Surface
from trainwell.optim.playground import (
    LR_GRID,
    animation_html,
    draw_png,
    playground_main,
    run_playground,
)

PNG = b"\x89PNG\r\n\x1a\n"


def steps_or_inf(t):
    return math.inf if t.steps_to_tol is None else t.steps_to_tol


def test_sgd_flips_across_the_taco_and_momentum_gets_there_sooner():
    res = run_playground("taco", ["sgd", "momentum"], steps=200)
    sgd, mom = res.trajectories
    y = sgd.points[:, 1]
    assert (y[1:] * y[:-1] < 0).sum() >= 150  # the steep coordinate changes sign step after step
    x = sgd.points[:, 0]
    assert np.all(np.diff(np.abs(x)) < 0) and abs(x[-1]) > 0.2  # ...and crawls along the other
    assert mom.steps_to_tol is not None and mom.steps_to_tol < steps_or_inf(sgd)


def test_sgd_stays_at_the_saddle_while_momentum_and_adam_roll_off():
    res = run_playground("saddle", ["sgd", "momentum", "nesterov", "adam"], steps=200)
    sgd, *others = res.trajectories
    assert abs(sgd.points[-1, 1]) < 1e-2 and abs(sgd.final_loss) < 1e-3  # at the saddle, f = 0
    for t in others:
        assert abs(abs(t.points[-1, 1]) - 1) < 0.05, t.optimizer
        assert t.final_loss == pytest.approx(-0.25, abs=1e-3), t.optimizer


def test_exactly_on_the_ridge_nothing_ever_leaves_it():
    res = run_playground("saddle", ["sgd", "momentum", "adam", "rmsprop"], steps=100,
                         start=(-2.0, 0.0))
    for t in res.trajectories:
        assert np.all(t.points[:, 1] == 0), t.optimizer


def plane() -> Surface:
    """A tilted plane: the gradient is the same at every point and every step."""
    return Surface("plane", lambda xy: 0.5 * xy[0] + 2.0 * xy[1], start=(0.0, 0.0),
                   window=(-50.0, 50.0, -50.0, 50.0), minimum=(0.0, 0.0),
                   description="constant gradient")


def test_adagrad_steps_shrink_while_rmsprop_steps_settle():
    res = run_playground(plane(), ["adagrad", "rmsprop"], steps=2000, lr=0.01)
    ratios = {}
    for t in res.trajectories:
        effective = np.abs(np.diff(t.points, axis=0)) / np.abs(t.grads)  # |dx| / |g| per coordinate
        assert effective.shape == (2000, 2)
        ratios[t.optimizer] = effective[1999] / effective[999]
    assert np.allclose(ratios["adagrad"], math.sqrt(1000 / 2000), rtol=1e-3)  # like 1/sqrt(t)
    assert np.allclose(ratios["rmsprop"], 1.0, atol=1e-3)


def scaled(a: float, b: float) -> Surface:
    return Surface(f"scaled {a:g} {b:g}", lambda xy: a * xy[0] ** 2 + b * xy[1] ** 2,
                   start=(1.0, 1.0), window=(-2.0, 2.0, -2.0, 2.0), minimum=(0.0, 0.0),
                   description="a quadratic with gradient scales a and b")


@pytest.mark.parametrize("surface", [SURFACES["taco"], scaled(1e-3, 1e3), scaled(1e4, 1.0)],
                         ids=["taco", "1e-3,1e3", "1e4,1"])
def test_adam_first_step_is_lr_in_each_coordinate_whatever_the_gradient_scale(surface):
    res = run_playground(surface, ["adam", "sgd"], steps=1, lr=0.01)
    adam, sgd = res.trajectories
    g = np.abs(adam.grads[0])
    assert g.max() / g.min() > 20  # the coordinates' gradients differ in scale
    np.testing.assert_allclose(np.abs(adam.points[1] - adam.points[0]), [0.01, 0.01], rtol=1e-4)
    np.testing.assert_allclose(np.abs(sgd.points[1] - sgd.points[0]), 0.01 * g, rtol=1e-9)


def test_momentum_rolls_over_the_bump_where_sgd_is_trapped():
    res = run_playground("valley", ["sgd", "momentum"], steps=200)
    sgd, mom = res.trajectories
    local = SURFACES["valley"].local_minima[0]
    assert np.allclose(sgd.points[-1], local, atol=1e-3)
    assert mom.final_loss == pytest.approx(SURFACES["valley"].f_min, abs=1e-6)


def test_gradient_noise_is_seeded_and_real():
    a = run_playground("noisy_valley", ["sgd"], steps=30, seed=1).trajectories[0]
    b = run_playground("noisy_valley", ["sgd"], steps=30, seed=1).trajectories[0]
    c = run_playground("noisy_valley", ["sgd"], steps=30, seed=2).trajectories[0]
    clean = run_playground("valley", ["sgd"], steps=30).trajectories[0]
    assert np.array_equal(a.points, b.points)
    assert not np.allclose(a.points, c.points)
    noise = a.grads[0] - clean.grads[0]  # same start point, so the difference is the noise
    assert 0.05 < np.abs(noise).max() < 5


def test_tuning_picks_the_grid_lr_that_ends_lowest():
    res = run_playground("taco", ["sgd"], steps=100, tune=True)
    best = res.trajectories[0]
    assert best.lr in LR_GRID and res.tuned
    for lr in LR_GRID:
        other = run_playground("taco", ["sgd"], steps=100, lr=lr).trajectories[0]
        assert best.final_loss <= other.final_loss + 1e-6, lr


def test_lbfgs_runs_with_its_closure_and_divergence_is_recorded():
    res = run_playground("rosenbrock", ["lbfgs", "sgd"], steps=200, lr=1.0)
    lbfgs, sgd = res.trajectories
    assert lbfgs.steps_to_tol is not None and not lbfgs.diverged
    assert sgd.diverged and sgd.final_loss == math.inf and len(sgd.points) < 201
    assert draw_png(res).startswith(PNG)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_surface_draws_and_animates_without_external_resources(name):
    res = run_playground(name, ["sgd", "momentum", "adam"], steps=20)
    assert draw_png(res).startswith(PNG)
    page = animation_html(res)
    outside = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//|<link|@import", outside, flags=re.IGNORECASE)
    sources = re.findall(r'(?:src|url)\(?=?"?([^")]*)', page)
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    assert "<canvas" in page and "<script>" in page
    data = json.loads(re.search(r"const D = (\{.*?\});", page).group(1))
    assert len(data["paths"]) == 3 and data["steps"] == 20
    assert all(len(path) == len(t.points) for path, t in zip(data["paths"], res.trajectories, strict=True))


def test_bad_names_and_values_raise_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match=r"did you mean 'taco'\?"):
        run_playground("tacoo", ["sgd"])
    with pytest.raises(ConfigError, match=r"--optim.*did you mean 'adam'\?"):
        playground_main(["taco"], ["adm"], 10, tmp_path, False)
    with pytest.raises(ConfigError, match="--steps"):
        run_playground("taco", ["sgd"], steps=0)
    with pytest.raises(ConfigError, match="--lr"):
        run_playground("taco", ["sgd"], lr=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_playground_main_writes_pictures_and_returns_a_table(tmp_path):
    table = playground_main(["taco", "saddle"], ["sgd", "adam"], 30, tmp_path / "out", False)
    assert isinstance(table, Table) and table.row_count == 4
    for name in ("taco", "saddle"):
        assert (tmp_path / "out" / f"{name}.png").read_bytes().startswith(PNG)
        assert "<canvas" in (tmp_path / "out" / f"{name}.html").read_text()
    assert torch.get_default_dtype() == torch.float32
