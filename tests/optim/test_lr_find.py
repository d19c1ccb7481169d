"""The learning-rate range test: its curve, its suggestion, and everything restored afterwards."""

import pytest
import torch
from torch import nn

import trainwell as tw
from trainwell.cli import main
from trainwell.errors import ConfigError
from trainwell.optim.lr_find import lr_find

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 10, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


def test_model_optimizer_buffers_and_rng_are_restored():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
    x, y = _problem()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(3):  # the optimizer has state to restore
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[:64]), y[:64]).backward()
        opt.step()
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    moments = {id(p): {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
               for p, s in opt.state.items()}
    rng = torch.get_rng_state()
    found = lr_find(net, opt, x, y, steps=80)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    for p, s in opt.state.items():
        assert all(torch.equal(v, moments[id(p)][k]) if torch.is_tensor(v) else v == moments[id(p)][k]
                   for k, v in s.items())
    assert opt.param_groups[0]["lr"] == 1e-3
    assert not net.training  # its mode too
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(p.grad is None for p in net.parameters())
    # the curve: lrs grow geometrically, and the suggestion lies before the minimum
    ratios = [b / a for a, b in zip(found.lrs, found.lrs[1:], strict=False)]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-6)
    assert found.lrs[0] == pytest.approx(1e-7)
    assert found.suggestion <= found.min_lr
    assert 1e-4 < found.suggestion < 3.0


def test_the_suggested_lr_trains_better_than_the_extremes():
    x, y = _problem()

    def final_loss(lr):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        for i in range(150):
            idx = slice((i * 64) % 1024, (i * 64) % 1024 + 64)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            return float(nn.functional.cross_entropy(net(x), y))

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    found = lr_find(net, torch.optim.SGD(net.parameters(), lr=0.1), x, y, steps=100)
    suggested, tiny, huge = final_loss(found.suggestion), final_loss(1e-5), final_loss(20.0)
    assert suggested < 0.8 * tiny
    assert not suggested >= huge  # the too-large lr diverges (nan) or ends higher


def test_bad_input_is_said():
    net = nn.Linear(10, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _problem()
    with pytest.raises(ConfigError, match="steps"):
        lr_find(net, opt, x, y, steps=3)
    with pytest.raises(ConfigError, match="start_lr"):
        lr_find(net, opt, x, y, start_lr=1.0, end_lr=0.1)
    assert tw.lr_find is lr_find


def test_the_command_writes_the_curve_and_prints_the_suggestion(tmp_path, capsys):
    assert main(["lr-find", "--set", "data.name=digits", "--steps", "40", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
    assert "suggested lr" in capsys.readouterr().out
    assert main(["lr-find", "--set", "data.name=digits", "--steps", "2", "--out", str(tmp_path)]) == 2


def test_a_recipes_range_test_on_data_already_prepared_is_the_same_test():
    from trainwell.build import prepare_data
    from trainwell.loop import resolve_device
    from trainwell.recipe import Recipe
    from trainwell.recipe_lr_find import lr_find_recipe

    recipe = Recipe.from_dict({"data": {"name": "digits"}, "train": {"device": "cpu", "threads": 1}})
    fresh = lr_find_recipe(recipe, steps=30)
    given = lr_find_recipe(recipe, steps=30, dataset=prepare_data(recipe, resolve_device("cpu")))
    assert given.losses == fresh.losses and given.suggestion == fresh.suggestion
