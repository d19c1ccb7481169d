"""Zero init: the units of a layer stay identical; with sigmoid the hidden weights still move."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trainwell.init import DESCRIPTIONS, apply_, zeros_
from trainwell.models import build_model


def trained_from_zeros(activation, steps=5):
    torch.manual_seed(0)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    net = build_model("mlp", input_shape=(8,), num_classes=3, activation=activation, depth=3,
                      width=6)
    apply_(net, "zeros")
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return [m.weight.detach() for m in net.hidden_layers()], net


def test_sigmoid_hidden_layers_get_gradients_identical_across_units():
    hidden, _ = trained_from_zeros("sigmoid")
    for w in hidden[1:]:
        assert w.abs().sum() > 0, "the weights of a hidden layer moved"
        assert torch.allclose(w, w[:1].expand_as(w), rtol=1e-5, atol=0), "all units alike"


def test_relu_and_tanh_hidden_weights_get_no_gradient_at_all():
    for activation in ("relu", "tanh"):
        hidden, net = trained_from_zeros(activation)
        assert all(w.abs().sum() == 0 for w in hidden)
        assert net.head.weight.abs().sum() == 0 and net.head.bias.abs().sum() > 0


def test_zeros_is_described_as_symmetry_not_as_a_missing_gradient():
    for text in (DESCRIPTIONS["zeros"], zeros_.__doc__):
        assert "identical" in text
        assert "no gradient reaches" not in text and "cannot learn" not in text
