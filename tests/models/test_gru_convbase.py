"""The built-in ``gru`` and ``convbase`` models against the mnist1d repository's GRUBase and
ConvBase written out in plain PyTorch: same parameters, same outputs; they refuse inputs that
are not signals, and they train from a recipe."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainwell.errors import ConfigError
from trainwell.execute import execute
from trainwell.init import apply_
from trainwell.models import DESCRIPTIONS, MODELS, build_model, convbase, gru
from trainwell.recipe import Recipe


class GRUBase(nn.Module):
    """mnist1d's GRUBase (notebooks/models.py): input (N, L), GRU over L steps of 1 feature."""

    def __init__(self, hidden_size=6, time_steps=40):
        super().__init__()
        self.gru = nn.GRU(1, hidden_size, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * time_steps, 10)

    def forward(self, x):
        out, _ = self.gru(x.view(*x.shape[:2], 1), torch.zeros(2, x.shape[0], 6))
        return self.linear(out.reshape(out.shape[0], -1))


class ConvBaseRef(nn.Module):
    """mnist1d's ConvBase (notebooks/models.py): input viewed as (N, 1, L)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.linear = nn.Linear(125, 10)

    def forward(self, x):
        h = self.conv3(self.conv2(self.conv1(x.view(-1, 1, x.shape[-1])).relu()).relu()).relu()
        return self.linear(h.view(h.shape[0], -1))


def _copy(ours: nn.Module, ref: nn.Module) -> None:
    """Load the reference's weights into ours (the head is ``linear`` there, ``head`` here)."""
    state = {k.replace("linear.", "head."): v for k, v in ref.state_dict().items()}
    ours.load_state_dict(state)


@pytest.mark.parametrize("build, ref", [(lambda: gru((1, 40), 10), GRUBase),
                                        (lambda: convbase((1, 40), 10), ConvBaseRef)])
def test_the_model_computes_what_the_repositorys_model_computes(build, ref):
    torch.manual_seed(0)
    reference, ours = ref(), build()
    assert (sum(p.numel() for p in ours.parameters())
            == sum(p.numel() for p in reference.parameters()))
    _copy(ours, reference)
    x = torch.randn(7, 1, 40)
    assert torch.allclose(ours(x), reference(x.squeeze(1)), atol=1e-6)


def test_gru_options_change_the_network():
    one_way = gru((2, 30), 4, hidden_size=8, bidirectional=False, layers=2)
    assert one_way.gru.input_size == 2 and one_way.gru.num_layers == 2
    assert one_way.head.in_features == 8 * 30 and one_way(torch.zeros(3, 2, 30)).shape == (3, 4)
    assert convbase((3, 64), 5, channels=8).head.in_features == 8 * 8


@pytest.mark.parametrize("name", ["gru", "convbase"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (784,)])
def test_the_models_refuse_images_and_tables_naming_the_model(name, shape):
    with pytest.raises(ConfigError, match=r"signals shaped \(C, L\)") as err:
        build_model(name, input_shape=shape, num_classes=10)
    assert err.value.key == "model.name"


def test_convbase_refuses_a_signal_too_short_for_its_three_strided_layers():
    with pytest.raises(ConfigError, match="L >= 3"):
        convbase((1, 2), 10)
    assert convbase((1, 3), 10)(torch.zeros(1, 1, 3)).shape == (1, 10)


def test_they_are_registered_and_a_static_init_fills_their_heads():
    assert MODELS["gru"] is gru and MODELS["convbase"] is convbase
    assert "GRU" in DESCRIPTIONS["gru"] and "ConvBase" in DESCRIPTIONS["convbase"]
    model = gru((1, 40), 10)
    before = model.gru.weight_hh_l0.clone()
    apply_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    assert model.gru.weight_hh_l0.equal(before) and model.head.bias.abs().sum() == 0


@pytest.mark.parametrize("name", ["gru", "convbase"])
def test_the_training_loss_goes_down_from_a_recipe(name, one_thread):
    recipe = Recipe.from_dict({"data": {"name": "mnist1d", "num_samples": 1000},
                               "model": {"name": name}, "init": {"name": "torch_default"},
                               "optim": {"name": "adam", "lr": 0.01},
                               "train": {"epochs": 3, "batch_size": 100, "threads": 1,
                                         "record_every": 0}})
    out = execute(recipe)
    assert out.status == "done"
    losses = out.history.step_loss
    assert sum(losses[-5:]) / 5 < 0.9 * sum(losses[:5]) / 5
