"""Greedy layer-wise pre-training of an MLP as a deep belief net: a stack of RBMs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from trainwell.errors import TrainwellError
from trainwell.models.cnn import CNN
from trainwell.models.mlp import MLP
from trainwell.params import validate_params
from trainwell.pretrain.cd_options import CDOptions, with_cd_options
from trainwell.pretrain.head import check_head_scheme, init_head_
from trainwell.pretrain.rbm import RBM, Visible

__all__ = ["dbn_pretrain_", "DBNReport", "DBNLayer"]


@dataclass(frozen=True)
class DBNLayer:
    """One trained RBM of the stack: its sizes, visible type, errors, time, and the RBM itself.

    ``recon_error[e]`` is the RBM's reconstruction error in epoch ``e`` (see
    :class:`~trainwell.pretrain.RBMHistory`); ``pseudo_ll`` the last epoch's
    pseudo-log-likelihood, ``None`` for Gaussian visible units.
    """

    n_visible: int
    n_hidden: int
    visible: Visible
    recon_error: tuple[float, ...]
    pseudo_ll: float | None
    seconds: float
    rbm: RBM


@dataclass(frozen=True)
class DBNReport:
    """The RBMs :func:`dbn_pretrain_` trained, first hidden layer first, and the head's scheme."""

    layers: tuple[DBNLayer, ...]
    output_init: str
    seconds: float

    @property
    def rbms(self) -> tuple[RBM, ...]:
        return tuple(layer.rbm for layer in self.layers)

    def __str__(self) -> str:
        lines = [f"DBN pre-training, {len(self.layers)} RBMs, {self.seconds:.1f} s, "
                 f"head: {self.output_init}"]
        for i, layer in enumerate(self.layers, 1):
            pll = "" if layer.pseudo_ll is None else f", pseudo-LL {layer.pseudo_ll:.2f}"
            lines.append(f"  {i}. {layer.n_visible} → {layer.n_hidden} ({layer.visible}): "
                         f"recon {layer.recon_error[0]:.4f} → {layer.recon_error[-1]:.4f}"
                         f"{pll}, {layer.seconds:.1f} s")
        return "\n".join(lines)


@with_cd_options
def dbn_pretrain_(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    visible: Literal["auto", "bernoulli", "gaussian"] = "auto",
    output_init: str = "glorot_uniform",
    generator: torch.Generator | None = None,
    progress: bool = False,
    **options: Any,
) -> DBNReport:
    """Pre-train the hidden layers of a trainwell MLP as a deep belief net, greedily, in place.

    For hidden layer :math:`l = 1 \\dots L` an RBM with ``in_features`` visible and
    ``out_features`` hidden units is trained (:meth:`RBM.fit`, CD-k or PCD) on
    :math:`x_l`, where :math:`x_1` is ``inputs`` flattened and
    :math:`x_{l+1} = \\sigma(x_l W_l^\\top + c_l)` are the hidden probabilities of the
    previous RBM; then layer ``l`` gets :math:`W_l` and :math:`c_l`. The head gets the static
    scheme ``output_init`` (its options at their defaults, the model's activation where it
    asks for one) and a zero bias. The caller passes every training input, labelled or not
    (``dataset.all_inputs``).

    The first RBM's visible units are Bernoulli when every input lies in [0, 1] and Gaussian
    (unit variance, for standardized inputs) otherwise, with ``visible="auto"``; the others
    are Bernoulli. ``options`` are the training options of every RBM, those of
    :class:`~trainwell.pretrain.CDOptions` with its defaults (``epochs`` 10, ``k`` 1, momentum
    0.5 for ``momentum_switch_epoch`` 5 epochs, then ``final_momentum`` 0.9; weight decay
    2e-4); ``lr=None`` takes each
    RBM's default (0.1 Bernoulli, 0.01 Gaussian). Every option, ``output_init`` included, is
    checked before anything is trained; a bad one raises a
    :class:`~trainwell.errors.ConfigError` naming ``init.<option>``.

    **Note**: the RBM's hidden units are logistic; with another activation the copied
    weights are only a starting point. Batch normalization, if the MLP has it, rescales what
    the RBMs learned (it normalizes :math:`W_l x + c_l` per unit); dropout is left as is.

    Reference: G. Hinton, S. Osindero, Y. Teh, "A fast learning algorithm for deep belief
    nets", 2006; G. Hinton, R. Salakhutdinov, "Reducing the Dimensionality of Data with
    Neural Networks", 2006.

    >>> from trainwell.models import mlp
    >>> net = mlp((1, 8, 8), 10, depth=2, width=16, activation="sigmoid")
    >>> x = torch.rand(300, 1, 8, 8)
    >>> report = dbn_pretrain_(net, x, epochs=2, generator=torch.Generator().manual_seed(0))
    >>> [(layer.n_visible, layer.n_hidden, layer.visible) for layer in report.layers]
    [(64, 16, 'bernoulli'), (16, 16, 'bernoulli')]
    """
    checked = validate_params(dbn_pretrain_, {**options, "visible": visible,
                                              "output_init": output_init}, key="init")
    visible, output_init = checked.pop("visible"), checked.pop("output_init")
    check_head_scheme(output_init)
    fit_options = CDOptions(**checked)
    net = _checked_mlp(model)
    layers = net.hidden_layers()
    first = layers[0]
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1 or len(inputs) == 0 \
            or inputs[0].numel() != first.in_features:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise TrainwellError(f"dbn pre-training needs the training inputs as a tensor of N >= 1 "
                             f"samples with {first.in_features} values each (the mlp's input); "
                             f"got {shape}")
    device = first.weight.device
    dtype = first.weight.dtype
    x = inputs.reshape(len(inputs), -1).to(device, dtype)
    if visible == "auto":
        lo, hi = x.aminmax()
        visible = "bernoulli" if lo.item() >= 0 and hi.item() <= 1 else "gaussian"
    trained: list[DBNLayer] = []
    start = time.perf_counter()
    for i, linear in enumerate(layers):
        t0 = time.perf_counter()
        kind = visible if i == 0 else "bernoulli"
        rbm = RBM(linear.in_features, linear.out_features, visible=kind, device=device,
                  dtype=dtype, generator=generator)
        history = rbm.fit(
            x, fit_options, progress=progress, generator=generator,
            description=f"rbm {i + 1}/{len(layers)} {linear.in_features}→{linear.out_features}")
        with torch.no_grad():
            linear.weight.copy_(rbm.weight)
            if linear.bias is not None:
                linear.bias.copy_(rbm.hidden_bias)
        if i + 1 < len(layers):
            x = rbm.transform(x)
        trained.append(DBNLayer(
            rbm.n_visible, rbm.n_hidden, kind, tuple(history.recon_error),
            history.pseudo_ll[-1] if history.pseudo_ll else None, time.perf_counter() - t0, rbm))
    init_head_(net, output_init, generator=generator)
    return DBNReport(tuple(trained), output_init, time.perf_counter() - start)


def _checked_mlp(model: nn.Module) -> MLP:
    """The model, a non-maxout MLP, or a TrainwellError saying which models are supported."""
    if isinstance(model, MLP) and model.trainwell_activation[0] != "maxout":
        return model
    if isinstance(model, MLP):
        got = "an mlp with activation 'maxout' (its hidden layers hold maxout_k pieces per unit)"
    elif isinstance(model, CNN):
        got = "a cnn (convolutional layers are not RBMs)"
    else:
        got = f"a {type(model).__name__} model, not a trainwell mlp"
    raise TrainwellError(f"dbn pre-training needs a trainwell mlp with a non-maxout activation "
                         f"(model.name = 'mlp'); got {got}")
