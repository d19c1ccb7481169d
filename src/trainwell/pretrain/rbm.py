"""Restricted Boltzmann machines with binary or Gaussian visible units and binary hidden units.

An RBM is an energy model of visible ``v`` and hidden ``h`` units; its weight is laid out like
an ``nn.Linear`` (``n_hidden × n_visible``), so a trained RBM copies straight into a layer.
:meth:`RBM.fit` trains it by CD-k or PCD (:mod:`trainwell.pretrain.contrastive`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from trainwell._io import atomic_write_bytes
from trainwell.errors import ConfigError, TrainwellError
from trainwell.pretrain.cd_options import CDOptions
from trainwell.pretrain.contrastive import RBMHistory, contrastive_divergence_

__all__ = ["RBM", "Visible", "generator_on"]

Visible = Literal["bernoulli", "gaussian"]


def generator_on(device: torch.device, generator: torch.Generator | None
                 ) -> torch.Generator | None:
    """``generator`` if it is on ``device``'s type, else a new one there seeded from it."""
    if generator is None or generator.device.type == device.type:
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator(device).manual_seed(seed)


class RBM:
    """A restricted Boltzmann machine: ``weight``, ``hidden_bias`` ``c`` and ``visible_bias`` ``b``.

    Bernoulli visible units (``visible="bernoulli"``, inputs in [0, 1]) have the energy
    :math:`E(v, h) = -b^\\top v - c^\\top h - h^\\top W v`; Gaussian visible units of unit
    variance (``visible="gaussian"``, for standardized inputs) have
    :math:`E(v, h) = \\tfrac12 \\lVert v - b \\rVert^2 - c^\\top h - h^\\top W v`. In both,
    :math:`p(h_j = 1 \\mid v) = \\sigma(c_j + W_j v)`; the visible units given ``h`` are
    Bernoulli with mean :math:`\\sigma(b + W^\\top h)`, or normal :math:`N(b + W^\\top h, I)`.

    The weights start as :math:`N(0, 0.01^2)` and both biases at 0 (Hinton 2010, section 8);
    the first :meth:`fit` sets the visible biases from the data. ``weight``, ``hidden_bias``
    and ``visible_bias`` are views of ``params``, the ``(n_hidden + 1) × (n_visible + 1)``
    matrix :math:`[[W, c], [b^\\top, 0]]`. The RBM lives on ``device`` in ``dtype``;
    ``generator`` draws the initial weights (one on another device seeds one on ``device``,
    here and wherever a method takes a ``generator``).

    Reference: G. Hinton, "A Practical Guide to Training Restricted Boltzmann Machines",
    UTML TR 2010-003, 2010; P. Smolensky, "Information processing in dynamical systems:
    foundations of harmony theory", 1986.

    >>> rbm = RBM(6, 4, generator=torch.Generator().manual_seed(0))
    >>> rbm.weight.shape, rbm.transform(torch.ones(2, 6)).shape
    (torch.Size([4, 6]), torch.Size([2, 4]))
    """

    def __init__(self, n_visible: int, n_hidden: int, *, visible: Visible = "bernoulli",
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
                 generator: torch.Generator | None = None) -> None:
        for key, value in (("rbm.n_visible", n_visible), ("rbm.n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(key, value, "an integer >= 1")
        if visible not in ("bernoulli", "gaussian"):
            raise ConfigError("rbm.visible", visible, "'bernoulli' (inputs in [0, 1]) or "
                              "'gaussian' (standardized inputs)")
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError("rbm.dtype", dtype, "torch.float32 or torch.float64")
        self.n_visible, self.n_hidden, self.visible = int(n_visible), int(n_hidden), visible
        # W, c and b are views of one matrix [[W, c], [b^T, 0]]: with an always-on unit
        # appended to v and to h, one product gives activations and biases together.
        self.params = torch.zeros(self.n_hidden + 1, self.n_visible + 1, device=device,
                                  dtype=dtype)
        self.weight = self.params[:-1, :-1]
        self.hidden_bias = self.params[:-1, -1]
        self.visible_bias = self.params[-1, :-1]
        self.weight.normal_(0.0, 0.01, generator=generator_on(self.device, generator))
        self.trained = False

    @property
    def device(self) -> torch.device:
        return self.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    def __repr__(self) -> str:
        return (f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
                f"visible={self.visible!r}, device={str(self.device)!r})")

    def flat(self, v: torch.Tensor) -> torch.Tensor:
        """``v`` as a ``(N, n_visible)`` tensor on the RBM's device and dtype (rows flattened)."""
        if not isinstance(v, torch.Tensor) or v.dim() < 1 \
                or v.shape[1:].numel() != self.n_visible:
            shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise TrainwellError(f"rbm input of shape {shape}: expected a tensor of N samples "
                                 f"with {self.n_visible} values each")
        return v.reshape(len(v), self.n_visible).to(self.device, self.dtype)

    def transform(self, v: torch.Tensor) -> torch.Tensor:
        """Hidden probabilities :math:`\\sigma(v W^\\top + c)`, shape ``(N, n_hidden)``."""
        with torch.no_grad():
            return torch.addmm(self.hidden_bias, self.flat(v), self.weight.t()).sigmoid_()

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """Mean of the visible units given ``h``: :math:`\\sigma(h W + b)` or :math:`h W + b`."""
        with torch.no_grad():
            mean = torch.addmm(self.visible_bias, h.to(self.device, self.dtype), self.weight)
            return mean.sigmoid_() if self.visible == "bernoulli" else mean

    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """Mean-field reconstruction: the visible mean given the hidden probabilities of ``v``."""
        return self.visible_mean(self.transform(v))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """Free energy :math:`F(v) = -\\log \\sum_h e^{-E(v, h)}` per sample, shape ``(N,)``.

        Bernoulli: :math:`F(v) = -b^\\top v - \\sum_j \\operatorname{softplus}(c_j + W_j v)`;
        Gaussian: :math:`F(v) = \\tfrac12 \\lVert v - b \\rVert^2 - \\sum_j
        \\operatorname{softplus}(c_j + W_j v)`.
        """
        v = self.flat(v)
        with torch.no_grad():
            hidden = F.softplus(torch.addmm(self.hidden_bias, v, self.weight.t())).sum(1)
            if self.visible == "bernoulli":
                return -(v @ self.visible_bias) - hidden
            return 0.5 * (v - self.visible_bias).square().sum(1) - hidden

    def gibbs(self, v: torch.Tensor, *, steps: int = 1,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """Run ``steps`` steps of block Gibbs sampling ``v → h → v`` and return the last ``v``.

        Each step samples :math:`h \\sim p(h \\mid v)`, then :math:`v \\sim p(v \\mid h)`
        (binary for Bernoulli visible units, :math:`N(b + W^\\top h, I)` for Gaussian ones).
        """
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
            raise ConfigError("rbm.steps", steps, "an integer >= 0")
        v, generator = self.flat(v), generator_on(self.device, generator)
        for _ in range(steps):
            h = torch.bernoulli(self.transform(v), generator=generator)
            mean = self.visible_mean(h)
            if self.visible == "bernoulli":
                v = torch.bernoulli(mean, generator=generator)
            else:
                v = mean + torch.randn(mean.shape, device=mean.device, dtype=mean.dtype,
                                       generator=generator)
        return v

    def pseudo_likelihood(self, v: torch.Tensor, *,
                          generator: torch.Generator | None = None) -> torch.Tensor:
        """Stochastic pseudo-log-likelihood per sample, as scikit-learn's ``score_samples``.

        For each sample one random unit ``i`` is flipped (:math:`\\tilde v_i = 1 - v_i`) and
        :math:`\\mathrm{PLL}(v) \\approx D \\log \\sigma(F(\\tilde v) - F(v))`, ``D`` visible
        units: an unbiased estimate of :math:`\\sum_i \\log p(v_i \\mid v_{-i})`. Bernoulli only.

        Reference: J. Besag, "Statistical analysis of non-lattice data", 1975.
        """
        if self.visible != "bernoulli":
            raise TrainwellError("the pseudo-likelihood is defined for bernoulli visible units; "
                                 "this rbm has gaussian ones")
        v, generator = self.flat(v), generator_on(self.device, generator)
        idx = torch.randint(0, self.n_visible, (len(v), 1), device=self.device, generator=generator)
        flipped = v.clone()
        flipped.scatter_(1, idx, 1 - v.gather(1, idx))
        return self.n_visible * F.logsigmoid(self.free_energy(flipped) - self.free_energy(v))

    def fit(self, x: torch.Tensor, options: CDOptions | None = None, *, progress: bool = False,
            generator: torch.Generator | None = None, description: str = "rbm",
            **keywords: Any) -> RBMHistory:
        """Train on the rows of ``x`` by CD-k, or by persistent CD with ``persistent=True``.

        ``options`` is a :class:`~trainwell.pretrain.CDOptions` (its defaults and their
        sources are there); ``keywords`` set its fields one by one and are checked as
        ``rbm.<option>``. The first fit sets the visible biases from the data (Hinton 2010,
        section 8): :math:`\\log(p_i / (1 - p_i))` with :math:`p_i` the mean of unit ``i``,
        clipped to [0.001, 0.999], or the data mean for Gaussian units; later fits go on.
        See :func:`~trainwell.pretrain.contrastive.contrastive_divergence_` for the update
        rule. ``progress`` shows a bar titled ``description`` while stderr is a terminal.
        Returns the per-epoch :class:`RBMHistory`.

        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.bernoulli(torch.full((200, 6), 0.3), generator=g)
        >>> history = RBM(6, 4, generator=g).fit(x, epochs=2, batch_size=50, generator=g)
        >>> len(history.recon_error), len(history.pseudo_ll)
        (2, 2)
        """
        options = CDOptions.checked({**asdict(options or CDOptions()), **keywords}, key="rbm")
        data = self._training_data(x)
        if not self.trained:
            self._init_visible_bias_(data)
        history = contrastive_divergence_(
            self.params, data, options, visible=self.visible, progress=bool(progress),
            generator=generator_on(self.device, generator), description=description)
        self.trained = True
        return history

    def _training_data(self, x: torch.Tensor) -> torch.Tensor:
        data = self.flat(x)
        if len(data) == 0:
            raise TrainwellError("rbm training needs at least one input sample; got none")
        lo, hi = (value.item() for value in data.aminmax())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise TrainwellError("rbm inputs contain NaN or infinite values")
        if self.visible == "bernoulli" and (lo < 0 or hi > 1):
            raise TrainwellError(f"bernoulli visible units need inputs in [0, 1]; got values in "
                                 f"[{lo:.3g}, {hi:.3g}]: use data.normalize = 'unit', or "
                                 "visible = 'gaussian' for standardized inputs")
        return data

    def _init_visible_bias_(self, data: torch.Tensor) -> None:
        with torch.no_grad():
            mean = data.mean(0, dtype=torch.float64)
            if self.visible == "bernoulli":
                mean = mean.clamp(1e-3, 1 - 1e-3)
                mean = torch.log(mean / (1 - mean))
            self.visible_bias.copy_(mean)

    def save(self, path: str | Path) -> Path:
        """Write the parameters to ``path`` as safetensors, atomically; :meth:`load` reads them."""
        tensors = {"weight": self.weight.contiguous().cpu(),
                   "hidden_bias": self.hidden_bias.contiguous().cpu(),
                   "visible_bias": self.visible_bias.contiguous().cpu()}
        metadata = {"format": "trainwell.rbm", "visible": self.visible,
                    "trained": str(self.trained).lower()}
        return atomic_write_bytes(path, safetensors_bytes(tensors, metadata=metadata))

    @classmethod
    def load(cls, path: str | Path, *, device: torch.device | str | None = None) -> RBM:
        """Read an RBM written by :meth:`save`, onto ``device`` (default CPU)."""
        path = Path(path)
        if not path.is_file():
            raise TrainwellError(f"no rbm file at {str(path)!r}")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in f.keys()}
        except Exception as exc:  # safetensors raises its own error types for a bad file
            raise TrainwellError(f"{str(path)!r} is not a safetensors file: {exc}") from None
        if metadata.get("format") != "trainwell.rbm" or set(tensors) != {
                "weight", "hidden_bias", "visible_bias"}:
            raise TrainwellError(f"{str(path)!r} is not an rbm saved by RBM.save")
        weight = tensors["weight"]
        rbm = cls(weight.shape[1], weight.shape[0], visible=metadata["visible"], device=device,
                  dtype=weight.dtype)
        rbm.weight.copy_(weight)
        rbm.hidden_bias.copy_(tensors["hidden_bias"])
        rbm.visible_bias.copy_(tensors["visible_bias"])
        rbm.trained = metadata.get("trained") == "true"
        return rbm
