"""Training an RBM by contrastive divergence (CD-k) or persistent contrastive divergence (PCD).

:func:`contrastive_divergence_` is the functional core, on an RBM's parameter matrix, with
the options of :class:`~trainwell.pretrain.cd_options.CDOptions`. The step is GEMM bound:
every buffer is allocated once per fit, parameters are updated in place, batches are index
slices of a per-epoch permutation of data already on the device, and the monitored errors
are summed on the device and read once per epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from trainwell.loop.progress import Progress
from trainwell.pretrain.cd_options import CDOptions

__all__ = ["RBMHistory", "contrastive_divergence_", "LR_DEFAULT"]

LR_DEFAULT = {"bernoulli": 0.1, "gaussian": 0.01}
"""``lr=None`` per visible type: Hinton 2010 sections 4 and 13.2."""

_MONITORED = 5
"""About this many evenly spaced batches per epoch estimate the monitored values."""


@dataclass
class RBMHistory:
    """What :meth:`~trainwell.pretrain.RBM.fit` measured, one entry per epoch.

    ``recon_error``: mean squared error per visible unit between the data and its
    reconstruction from sampled hidden states; ``pseudo_ll``: mean stochastic
    pseudo-log-likelihood per sample (Bernoulli visible units only, else empty);
    ``seconds``: wall time of the epoch.
    """

    recon_error: list[float] = field(default_factory=list)
    pseudo_ll: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def contrastive_divergence_(params: torch.Tensor, data: torch.Tensor, options: CDOptions, *,
                            visible: str, generator: torch.Generator | None = None,
                            progress: bool = False, description: str = "rbm") -> RBMHistory:
    """Train the RBM of ``params`` in place on the rows of ``data``, by CD-k or PCD.

    ``params`` is an RBM's matrix :math:`[[W, c], [b^\\top, 0]]` (``RBM.params``), ``data``
    an ``(N, n_visible)`` tensor on its device and dtype, ``visible`` ``"bernoulli"`` or
    ``"gaussian"``, and ``generator`` (if any) on the same device. ``progress`` shows a bar
    titled ``description`` while stderr is a terminal. Per batch of ``B`` rows ``v`` with
    hidden probabilities :math:`p = \\sigma(v W^\\top + c)`:

    1. CD-k: sample :math:`h \\sim p`, then ``k`` times :math:`v' = \\mathrm{mean}(v \\mid h)`,
       :math:`p' = \\sigma(v' W^\\top + c)` (sampling ``h`` again between steps). PCD: the
       same ``k`` steps start from persistent chains (``B`` of them, the state of the last
       batch), with sampled visible states, and the batch never restarts them.
    2. :math:`\\Delta W \\leftarrow \\mu \\Delta W + \\mathrm{lr}\\,(\\langle p^\\top v\\rangle -
       \\langle p'^\\top v'\\rangle - \\lambda W)`, :math:`W \\leftarrow W + \\Delta W`; the
       biases likewise with :math:`\\langle v - v'\\rangle`, :math:`\\langle p - p'\\rangle`
       and no decay.

    **Note**: CD-k reconstructs with visible probabilities (means), as the 2006 code does;
    PCD samples them. Both monitored values are estimated on about 5 evenly spaced batches
    per epoch: the reconstruction error (PCD pays one product more for it), and the
    pseudo-likelihood, scikit-learn's estimate (one random unit flipped per row), from
    the hidden probabilities the step computes anyway.
    On the CPU, Bernoulli samples compare 16-bit uniforms: a unit with probability ``p`` is
    on with probability :math:`\\lceil 2^{16} p \\rceil / 2^{16}` (within 1.6e-5 of ``p``),
    for a third of the cost of float uniforms.

    References: G. Hinton, "Training Products of Experts by Minimizing Contrastive
    Divergence", 2002; T. Tieleman, "Training Restricted Boltzmann Machines using
    Approximations to the Likelihood Gradient", 2008; G. Hinton, "A Practical Guide to
    Training Restricted Boltzmann Machines", UTML TR 2010-003, 2010; G. Hinton, R.
    Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks", 2006.
    """
    o = options
    lr = LR_DEFAULT[visible] if o.lr is None else float(o.lr)
    n, bernoulli, n_visible = len(data), visible == "bernoulli", params.shape[1] - 1
    batch = min(o.batch_size, n)
    every = max(1, math.ceil(n / batch) // _MONITORED)
    history = RBMHistory()
    with torch.no_grad(), Progress(description, total=o.epochs,
                                   enabled=None if progress else False) as bar:
        step = _Step(params, data, batch, bernoulli=bernoulli, persistent=o.persistent,
                     generator=generator)
        for epoch in range(o.epochs):
            t0 = time.perf_counter()
            step.momentum = o.momentum if epoch < o.momentum_switch_epoch else o.final_momentum
            perm = torch.randperm(n, device=params.device, generator=generator)
            step.err.zero_()
            step.pll.zero_()
            rows_err = rows_pll = 0
            for i, lo in enumerate(range(0, n, batch)):
                rows = perm[lo:lo + batch]
                monitored = i % every == 0
                pll = monitored and bernoulli
                step.run(rows, k=o.k, lr=lr, weight_decay=o.weight_decay, pll=pll,
                         recon=monitored)
                rows_err += len(rows) if monitored else 0
                rows_pll += len(rows) if pll else 0
            history.recon_error.append(step.err.item() / (rows_err * n_visible))
            if bernoulli:
                history.pseudo_ll.append(step.pll.item() / rows_pll)
            history.seconds.append(time.perf_counter() - t0)
            shown = f"recon {history.recon_error[-1]:.4f}"
            shown += f" pll {history.pseudo_ll[-1]:.2f}" if bernoulli else ""
            bar.update(completed=epoch + 1, status=shown)
    return history


class _Step:
    """The buffers and the in-place arithmetic of one training step.

    Every visible and hidden buffer ends with a column of ones, the always-on units that
    carry the biases in ``params``: ``v @ params[:-1].T`` is :math:`v W^\\top + c`,
    ``h @ params[:, :-1]`` is :math:`h W + b`, both written into the buffers' other columns,
    and the outer products ``p.T @ v`` hold the bias gradients in their last row and column.
    """

    def __init__(self, params: torch.Tensor, data: torch.Tensor, batch: int, *, bernoulli: bool,
                 persistent: bool, generator: torch.Generator | None) -> None:
        self.persistent, self.generator, self.bernoulli = persistent, generator, bernoulli
        self.n_hidden, self.n_visible = params.shape[0] - 1, params.shape[1] - 1
        self.device, dtype = params.device, params.dtype
        self.data = torch.ones(len(data), self.n_visible + 1, device=self.device, dtype=dtype)
        self.data[:, :-1] = data
        self.params, self.weight, self.visible_bias = params, params[:-1, :-1], params[-1, :-1]
        self.to_hidden, self.to_visible = params[:-1].t(), params[:, :-1]
        self.inc = torch.zeros_like(params)
        self.inc_weight = self.inc[:-1, :-1]
        self.err = torch.zeros((), device=self.device, dtype=dtype)
        self.pll = torch.zeros((), device=self.device, dtype=dtype)
        self.momentum = 0.0
        size = batch * max(self.n_visible, self.n_hidden)
        self.threshold = torch.empty(size, device=self.device, dtype=dtype)
        # On the CPU, four 16-bit uniforms per 64-bit draw cost a third of float uniforms.
        self.bits = (torch.empty((size + 3) // 4, device=self.device, dtype=torch.int64)
                     if self.device.type == "cpu" else None)
        self.uniforms: dict[torch.Size, tuple[torch.Tensor, ...]] = {}
        self.buffers = {batch: self._buffers(batch)}
        self.chains = self._buffers(batch) if persistent else {}
        if persistent:  # the chains start from the hidden states of random training rows
            start = torch.randperm(len(data), device=self.device, generator=generator)[:batch]
            torch.mm(self.data[start], self.to_hidden, out=self.chains["p_neg_"]).sigmoid_()
            self.sample_(self.chains["p_neg_"], self.chains["h_neg_"])

    def _buffers(self, rows: int) -> dict[str, torch.Tensor]:
        """Buffers of ``rows`` rows: ``name`` with the ones column, ``name_`` without it."""
        buffers = {}
        for name, units in (("v", self.n_visible), ("p", self.n_hidden), ("h", self.n_hidden),
                            ("v_neg", self.n_visible), ("p_neg", self.n_hidden),
                            ("h_neg", self.n_hidden)):
            buffers[name] = torch.ones(rows, units + 1, device=self.device,
                                       dtype=self.params.dtype)
            buffers[name + "_"] = buffers[name][:, :-1]
        buffers["diff"] = torch.empty_like(buffers["v"])
        buffers["p_t"], buffers["p_neg_t"] = buffers["p"].t(), buffers["p_neg"].t()
        return buffers

    def sample_(self, probs: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``out ← (u < probs)`` with ``u`` uniform: a Bernoulli sample, no allocation.

        On the CPU ``u`` has 16 bits (``k / 2^16``), so a unit is on with probability
        :math:`\\lceil 2^{16} p \\rceil / 2^{16}`, within 1.6e-5 of ``p``.
        """
        views = self.uniforms.get(probs.shape)
        if views is None:
            n = probs.numel()
            threshold = self.threshold[:n].view(probs.shape)
            if self.bits is None:
                views = (threshold,)
            else:
                words = self.bits[:(n + 3) // 4]
                views = (threshold, words, words.view(torch.uint16)[:n].view(probs.shape))
            self.uniforms[probs.shape] = views
        if self.bits is None:
            views[0].uniform_(generator=self.generator)
            return torch.lt(views[0], probs, out=out)
        threshold, words, uniform = views
        words.random_(-2**63, None, generator=self.generator)
        return torch.lt(uniform, torch.mul(probs, 65536.0, out=threshold), out=out)

    def visible_(self, h: torch.Tensor, out: torch.Tensor, *, sample: bool) -> None:
        """``out ← mean(v | h)``, or a sample of ``v | h`` when ``sample`` (no ones column)."""
        torch.mm(h, self.to_visible, out=out)
        if self.bernoulli:
            out.sigmoid_()
            if sample:
                self.sample_(out, out)
        elif sample:
            out.add_(torch.randn(out.shape, device=out.device, dtype=out.dtype,
                                 generator=self.generator))

    def run(self, rows: torch.Tensor, *, k: int, lr: float, weight_decay: float,
            pll: bool, recon: bool) -> None:
        """One CD-k or PCD update from the training rows ``rows``, in place."""
        s = self.buffers.get(len(rows))
        if s is None:
            s = self.buffers[len(rows)] = self._buffers(len(rows))
        v, p_, h_ = s["v"], s["p_"], s["h_"]
        torch.index_select(self.data, 0, rows, out=v)
        torch.mm(v, self.to_hidden, out=p_).sigmoid_()
        if pll:
            self._pseudo_likelihood(v, p_)
        if recon or not self.persistent:
            self.sample_(p_, h_)
        if self.persistent:
            if recon:
                self.visible_(s["h"], s["v_neg_"], sample=False)
                self._add_error(v, s["v_neg"], s["diff"])
            neg = self.chains
            for _ in range(k):
                self.visible_(neg["h_neg"], neg["v_neg_"], sample=True)
                torch.mm(neg["v_neg"], self.to_hidden, out=neg["p_neg_"]).sigmoid_()
                self.sample_(neg["p_neg_"], neg["h_neg_"])
        else:
            neg = s
            for step in range(k):
                if step:
                    self.sample_(s["p_neg_"], h_)
                self.visible_(s["h"], s["v_neg_"], sample=False)
                if step == 0 and recon:
                    self._add_error(v, s["v_neg"], s["diff"])
                torch.mm(s["v_neg"], self.to_hidden, out=s["p_neg_"]).sigmoid_()
        self._update(s, neg, lr, weight_decay)

    def _update(self, pos: dict[str, torch.Tensor], neg: dict[str, torch.Tensor], lr: float,
                weight_decay: float) -> None:
        params, inc, mu = self.params, self.inc, self.momentum
        a, b = lr / len(pos["v"]), lr / len(neg["v_neg"])
        if mu > 0:
            inc.addmm_(pos["p_t"], pos["v"], beta=mu, alpha=a)
            inc.addmm_(neg["p_neg_t"], neg["v_neg"], alpha=-b)
            if weight_decay > 0:
                self.inc_weight.add_(self.weight, alpha=-lr * weight_decay)
            params.add_(inc)
        else:  # no increment buffer: the products go straight into the parameters
            if weight_decay > 0:
                self.weight.mul_(1 - lr * weight_decay)
            params.addmm_(pos["p_t"], pos["v"], alpha=a)
            params.addmm_(neg["p_neg_t"], neg["v_neg"], alpha=-b)

    def _add_error(self, v: torch.Tensor, v_rec: torch.Tensor, diff: torch.Tensor) -> None:
        flat = torch.sub(v, v_rec, out=diff).view(-1)
        self.err.add_(torch.dot(flat, flat))

    def _pseudo_likelihood(self, v: torch.Tensor, p: torch.Tensor) -> None:
        """Add :math:`D \\log \\sigma(F(\\tilde v) - F(v))` over the rows, one unit flipped in each.

        Flipping unit ``i`` by :math:`\\delta = 1 - 2 v_i` changes the free energy by
        :math:`-\\delta b_i - \\sum_j \\log(1 + p_j (e^{\\delta W_{ji}} - 1))`, with ``p`` the
        hidden probabilities of ``v``: no product, one exponential and one logarithm per unit.
        """
        unit = torch.randint(0, self.n_visible, (len(v),), device=v.device,
                             generator=self.generator)
        delta = torch.gather(v, 1, unit[:, None]).mul_(-2.0).add_(1.0)
        columns = self.to_hidden.index_select(0, unit)  # row n: W[:, unit_n]
        change = columns.mul_(delta).expm1_().mul_(p).log1p_().sum(1)
        change.add_(delta.view(-1).mul_(self.visible_bias.index_select(0, unit)))
        self.pll.add_(F.logsigmoid(change.neg_()).sum(), alpha=self.n_visible)
