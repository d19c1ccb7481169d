"""Greedy layer-wise pre-training of an MLP as a stack of auto-encoders.

Each hidden layer is trained, one after the other, to encode its input so that a decoder can
reconstruct it; the trained encoders then start the supervised training (fine-tuning).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from trainwell.errors import ConfigError, TrainwellError
from trainwell.init import glorot_uniform_
from trainwell.loop.progress import Progress
from trainwell.models.activations import make_activation
from trainwell.models.mlp import MLP
from trainwell.pretrain.head import check_head_scheme, init_head_

__all__ = ["autoencoder_pretrain_", "AutoencoderReport", "AutoencoderLayer"]


@dataclass(frozen=True)
class AutoencoderLayer:
    """One trained auto-encoder: sizes, reconstruction MSE, time, and the encoder it kept.

    ``initial_mse`` is the reconstruction MSE on all inputs before training; ``mse[e]`` the
    mean minibatch MSE of epoch ``e``. ``weight`` and ``bias`` are copies of the trained
    encoder, the values the model's layer holds; ``decoder_weight`` is ``None`` when the
    decoder is tied (it uses ``weightᵀ``).
    """

    name: str
    in_features: int
    out_features: int
    initial_mse: float
    mse: tuple[float, ...]
    seconds: float
    weight: torch.Tensor
    bias: torch.Tensor | None
    decoder_weight: torch.Tensor | None
    decoder_bias: torch.Tensor


@dataclass(frozen=True)
class AutoencoderReport:
    """The auto-encoders :func:`autoencoder_pretrain_` trained, first hidden layer first."""

    layers: tuple[AutoencoderLayer, ...]
    tied: bool
    output_init: str
    seconds: float

    def __str__(self) -> str:
        width = max([len("layer")] + [len(layer.name) for layer in self.layers])
        kind = "tied" if self.tied else "untied"
        lines = [f"Auto-encoder pre-training ({kind} decoders), head: {self.output_init}, "
                 f"{self.seconds:.2f} s",
                 f"{'layer':<{width}}  {'sizes':>11}  {'MSE start':>9}  {'MSE end':>9}  {'seconds':>7}"]
        for layer in self.layers:
            sizes = f"{layer.in_features}→{layer.out_features}"
            lines.append(f"{layer.name:<{width}}  {sizes:>11}  {layer.initial_mse:>9.4g}  "
                         f"{layer.mse[-1]:>9.4g}  {layer.seconds:>7.2f}")
        return "\n".join(lines)


class _Autoencoder(nn.Module):
    """``x̂ = dec(f(W x + b))`` with ``dec(h) = Wᵀ h + c`` (tied) or ``V h + c`` (untied)."""

    def __init__(self, encoder: nn.Linear, activation: nn.Module, *, tied: bool,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.encoder, self.activation, self.tied = encoder, activation, tied
        device, dtype = encoder.weight.device, encoder.weight.dtype
        self.decoder_bias = nn.Parameter(torch.zeros(encoder.in_features, device=device, dtype=dtype))
        self.decoder_weight: nn.Parameter | None = None
        if not tied:
            weight = torch.empty(encoder.in_features, encoder.out_features, device=device, dtype=dtype)
            self.decoder_weight = nn.Parameter(glorot_uniform_(weight, generator=generator))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.encoder.weight.t() if self.decoder_weight is None else self.decoder_weight
        return F.linear(self.encode(x), w, self.decoder_bias)


def autoencoder_pretrain_(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    epochs: Annotated[int, Field(ge=1)] = 10,
    lr: Annotated[float, Field(gt=0)] = 1e-3,
    batch_size: Annotated[int, Field(ge=1)] = 100,
    tied: bool = True,
    output_init: str = "glorot_uniform",
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> AutoencoderReport:
    """Pre-train the hidden layers of a trainwell MLP, in place, as stacked auto-encoders.

    For hidden layer ``l = 1 … depth`` (``h_0`` = the flattened ``inputs``):

    1. encoder ``h_l = f(W_l h_{l-1} + b_l)`` with the layer's Linear and the model's
       activation ``f``; decoder ``ĥ_{l-1} = W_lᵀ h_l + c_l`` (``tied``, the lecture's "go
       back with the same weights") or ``V_l h_l + c_l`` (untied, ``V_l`` Glorot-uniform).
    2. Minimize ``mean ‖ĥ_{l-1} - h_{l-1}‖²`` with Adam (``lr``) for ``epochs`` passes over
       minibatches of ``batch_size`` (a new permutation each epoch).
    3. Keep ``W_l, b_l`` in the model; ``h_l`` of every input is the next layer's data.

    Then the output layer gets ``output_init`` (a name in :data:`~trainwell.init.INITIALIZERS`,
    with the gain :func:`~trainwell.init.apply_` would give it in the whole model) and zero
    bias. The encoders start from the model's current weights; the decoders are dropped.
    The data moves to the model's device once; the loss is read once per epoch.

    **Note**: Bengio et al. trained sigmoid auto-encoders with plain SGD and a cross-entropy
    loss for inputs in ``[0, 1]``; here the decoder is linear, the loss is the squared
    error (inputs are standardized, hidden codes need not lie in ``[0, 1]``), and the
    optimizer is Adam, which needs no per-layer learning-rate tuning. Batch norm and dropout
    of the model's blocks are not used while pre-training (the encoder is the Linear and the
    activation only).

    Reference: Y. Bengio, P. Lamblin, D. Popovici, H. Larochelle, "Greedy Layer-Wise Training
    of Deep Networks", NIPS 2007; S. Kim, "Lecture 10-2: Initialize weights in a smart way",
    2017 (encoder/decoder view of pre-training).

    >>> from trainwell.models import mlp
    >>> net = mlp((1, 16), 3, depth=2, width=8)
    >>> x = torch.randn(200, 1, 16, generator=torch.Generator().manual_seed(0))
    >>> report = autoencoder_pretrain_(net, x, epochs=3, generator=torch.Generator().manual_seed(0))
    >>> [(layer.in_features, layer.out_features) for layer in report.layers]
    [(16, 8), (8, 8)]
    """
    net = _checked_mlp(model)
    _check_options(epochs, lr, batch_size, tied, progress)
    check_head_scheme(output_init)
    layers = net.hidden_layers()
    h = _check_inputs(inputs, layers[0])
    name, slope = net.trainwell_activation
    activation = make_activation(name, negative_slope=slope)
    names = {id(m): n for n, m in model.named_modules()}
    start = time.perf_counter()
    results = []
    with Progress("auto-encoders", total=len(layers) * epochs,
                  enabled=None if progress else False) as bar:
        for layer in layers:
            ae = _Autoencoder(layer, activation, tied=tied, generator=generator)
            results.append(_train(ae, h, names[id(layer)], epochs=epochs, lr=lr,
                                  batch_size=batch_size, generator=generator, bar=bar))
            with torch.no_grad():
                h = ae.encode(h)
    init_head_(net, output_init, generator=generator)
    return AutoencoderReport(tuple(results), tied, output_init, time.perf_counter() - start)


def _train(ae: _Autoencoder, h: torch.Tensor, name: str, *, epochs: int, lr: float, batch_size: int,
           generator: torch.Generator | None, bar: Progress) -> AutoencoderLayer:
    """Steps 1–2 for one layer; returns its record with copies of the trained encoder."""
    begin = time.perf_counter()
    n = len(h)
    with torch.no_grad():
        initial = F.mse_loss(ae(h), h)
    optimizer = torch.optim.Adam(ae.parameters(), lr=lr)
    losses = []
    with torch.enable_grad():
        for _ in range(epochs):
            if generator is None:
                perm = torch.randperm(n, device=h.device)
            else:
                perm = torch.randperm(n, generator=generator, device=generator.device).to(h.device)
            total = torch.zeros((), device=h.device, dtype=h.dtype)
            for i in range(0, n, batch_size):
                batch = h[perm[i:i + batch_size]]
                loss = F.mse_loss(ae(batch), batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(batch)
            losses.append(total / n)
            if bar.enabled:
                bar.update(advance=1, status=f"{name} MSE {float(losses[-1]):.4f}")
    optimizer.zero_grad(set_to_none=True)
    mse = tuple(torch.stack(losses).tolist())
    enc = ae.encoder
    return AutoencoderLayer(
        name=name, in_features=enc.in_features, out_features=enc.out_features,
        initial_mse=float(initial), mse=mse, seconds=time.perf_counter() - begin,
        weight=enc.weight.detach().clone(),
        bias=None if enc.bias is None else enc.bias.detach().clone(),
        decoder_weight=None if ae.decoder_weight is None else ae.decoder_weight.detach().clone(),
        decoder_bias=ae.decoder_bias.detach().clone())


def _checked_mlp(model: object) -> MLP:
    if isinstance(model, MLP) and model.trainwell_activation[0] != "maxout":
        return model
    if isinstance(model, MLP):
        got = "an mlp with activation 'maxout' (a maxout unit has no single encoder activation)"
    elif type(model).__module__.startswith("trainwell.models"):
        got = f"a trainwell {type(model).__name__.lower()}"
    else:
        got = f"a {type(model).__module__}.{type(model).__qualname__}"
    raise TrainwellError("autoencoder pre-training needs a trainwell mlp with a non-maxout "
                         f"activation; got {got}. Use model.name = \"mlp\" with another "
                         "activation, or a static scheme or LSUV for this model")


def _check_options(epochs: int, lr: float, batch_size: int, tied: bool, progress: bool) -> None:
    def integer(x: object) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 1

    if not integer(epochs):
        raise ConfigError("init.epochs", epochs, "an integer >= 1 (passes over the data per layer)")
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0):
        raise ConfigError("init.lr", lr, "a finite number > 0 (Adam's learning rate)")
    if not integer(batch_size):
        raise ConfigError("init.batch_size", batch_size, "an integer >= 1")
    for key, value in (("init.tied", tied), ("init.progress", progress)):
        if not isinstance(value, bool):
            raise ConfigError(key, value, "true or false")


def _check_inputs(inputs: object, first: nn.Linear) -> torch.Tensor:
    """The inputs flattened to ``(N, features)``, on the model's device and dtype."""
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point() or inputs.dim() < 2:
        what = (f"a {inputs.dtype} tensor of shape {tuple(inputs.shape)}"
                if isinstance(inputs, torch.Tensor) else f"a {type(inputs).__name__}")
        raise TrainwellError("autoencoder pre-training needs inputs as a float tensor (samples, ...), "
                             f"e.g. dataset.all_inputs; got {what}")
    if len(inputs) == 0:
        raise TrainwellError("autoencoder pre-training got no inputs (0 samples)")
    features = math.prod(inputs.shape[1:])
    if features != first.in_features:
        raise TrainwellError(f"inputs of shape {tuple(inputs.shape)} have {features} features per "
                             f"sample; the mlp's first layer takes {first.in_features}. Pass the "
                             "inputs of the data the model was built for")
    if not torch.isfinite(inputs).all():
        raise TrainwellError("autoencoder pre-training got inputs with nan or inf values; clean "
                             "the data first")
    w = first.weight
    return inputs.detach().reshape(len(inputs), features).to(device=w.device, dtype=w.dtype)
