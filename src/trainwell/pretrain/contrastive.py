"""Training an RBM by contrastive divergence (CD-k) or persistent contrastive divergence (PCD).

The step is GEMM bound: every buffer is allocated once per fit, parameters are updated in
place, batches are index slices of a per-epoch permutation of data already on the device,
and the monitored errors are summed on the device and read once per epoch.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trainwell.errors import TrainwellError
from trainwell.pretrain.rbm import RBM, RBMHistory, generator_on

__all__ = ["contrastive_divergence_", "LR_DEFAULT"]

LR_DEFAULT = {"bernoulli": 0.1, "gaussian": 0.01}
"""``lr=None`` per visible type: Hinton 2010 sections 4 and 13.2."""

_MONITORED = 5
"""About this many evenly spaced batches per epoch estimate the monitored values."""


def contrastive_divergence_(rbm: RBM, x: torch.Tensor, *, epochs: int, lr: float | None, k: int,
                            persistent: bool, batch_size: int, momentum: float,
                            final_momentum: float, momentum_switch_epoch: int,
                            weight_decay: float, progress: bool,
                            generator: torch.Generator | None,
                            description: str = "rbm") -> RBMHistory:
    """Train ``rbm`` in place by CD-k or by PCD; the options are those of :meth:`RBM.fit`.

    Per batch of ``B`` rows ``v`` with hidden probabilities :math:`p = \\sigma(v W^\\top + c)`:

    1. CD-k: sample :math:`h \\sim p`, then ``k`` times :math:`v' = \\mathrm{mean}(v \\mid h)`,
       :math:`p' = \\sigma(v' W^\\top + c)` (sampling ``h`` again between steps). PCD: the
       same ``k`` steps start from persistent chains (``B`` of them, the state of the last
       batch), with sampled visible states, and the batch never restarts them.
    2. :math:`\\Delta W \\leftarrow \\mu \\Delta W + \\mathrm{lr}\\,(\\langle p^\\top v\\rangle -
       \\langle p'^\\top v'\\rangle - \\lambda W)`, :math:`W \\leftarrow W + \\Delta W`; the
       biases likewise with :math:`\\langle v - v'\\rangle`, :math:`\\langle p - p'\\rangle`
       and no decay.

    Defaults (set in ``RBM.fit``), after Hinton's guide (2010) and the code of Hinton &
    Salakhutdinov (2006): ``lr`` 0.1 (Bernoulli; 0.01 for Gaussian visible units, guide
    13.2), weights :math:`N(0, 0.01^2)` (guide 8), visible biases
    :math:`\\log(p_i / (1 - p_i))` with :math:`p_i` the mean of unit ``i`` over the data,
    clipped to [0.001, 0.999] (guide 8; the data mean for Gaussian units), hidden biases 0,
    momentum 0.5 for the first 5 epochs then 0.9 (guide 9; 2006 code), weight decay
    :math:`\\lambda` = 2e-4 on weights only (guide 10; 2006 code), batches of 100 (guide 6;
    2006 code), ``k = 1``. The first fit of an RBM sets its visible biases; later fits go on.

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
    data = _check_data(rbm, x)
    generator = generator_on(rbm.device, generator)
    lr = LR_DEFAULT[rbm.visible] if lr is None else float(lr)
    n, bernoulli = len(data), rbm.visible == "bernoulli"
    batch = min(batch_size, n)
    n_batches = math.ceil(n / batch)
    every = max(1, n_batches // _MONITORED)
    history = RBMHistory()
    with torch.no_grad():
        if not rbm.trained:
            _init_visible_bias_(rbm, data)
        step = _Step(rbm, data, batch, persistent, generator)
        with _bar(progress, description, epochs) as bar:
            for epoch in range(epochs):
                t0 = time.perf_counter()
                step.momentum = momentum if epoch < momentum_switch_epoch else final_momentum
                perm = torch.randperm(n, device=rbm.device, generator=generator)
                step.err.zero_()
                step.pll.zero_()
                rows_err = rows_pll = 0
                for i, lo in enumerate(range(0, n, batch)):
                    rows = perm[lo:lo + batch]
                    monitored = i % every == 0
                    pll = monitored and bernoulli
                    step.run(rows, k=k, lr=lr, weight_decay=weight_decay, pll=pll,
                             recon=monitored)
                    rows_err += len(rows) if monitored else 0
                    rows_pll += len(rows) if pll else 0
                history.recon_error.append(step.err.item() / (rows_err * rbm.n_visible))
                if bernoulli:
                    history.pseudo_ll.append(step.pll.item() / rows_pll)
                history.seconds.append(time.perf_counter() - t0)
                if bar is not None:
                    shown = f"recon {history.recon_error[-1]:.4f}"
                    shown += f" pll {history.pseudo_ll[-1]:.2f}" if bernoulli else ""
                    bar.update(bar.task_ids[0], completed=epoch + 1, metrics=shown)
    rbm.trained = True
    return history


class _Step:
    """The buffers and the in-place arithmetic of one training step.

    Every visible and hidden buffer ends with a column of ones, the always-on units that
    carry the biases in ``rbm.params``: ``v @ params[:-1].T`` is :math:`v W^\\top + c`,
    ``h @ params[:, :-1]`` is :math:`h W + b`, both written into the buffers' other columns,
    and the outer products ``p.T @ v`` hold the bias gradients in their last row and column.
    """

    def __init__(self, rbm: RBM, data: torch.Tensor, batch: int, persistent: bool,
                 generator: torch.Generator | None) -> None:
        self.rbm, self.persistent, self.generator = rbm, persistent, generator
        self.bernoulli = rbm.visible == "bernoulli"
        self.data = torch.ones(len(data), rbm.n_visible + 1, device=rbm.device, dtype=rbm.dtype)
        self.data[:, :-1] = data
        self.params, self.weight = rbm.params, rbm.weight
        self.to_hidden, self.to_visible = rbm.params[:-1].t(), rbm.params[:, :-1]
        self.inc = torch.zeros_like(rbm.params)
        self.inc_weight = self.inc[:-1, :-1]
        self.err = torch.zeros((), device=rbm.device, dtype=rbm.dtype)
        self.pll = torch.zeros((), device=rbm.device, dtype=rbm.dtype)
        self.momentum = 0.0
        size = batch * max(rbm.n_visible, rbm.n_hidden)
        self.threshold = torch.empty(size, device=rbm.device, dtype=rbm.dtype)
        # On the CPU, four 16-bit uniforms per 64-bit draw cost a third of float uniforms.
        self.bits = (torch.empty((size + 3) // 4, device=rbm.device, dtype=torch.int64)
                     if rbm.device.type == "cpu" else None)
        self.uniforms: dict[torch.Size, tuple[torch.Tensor, ...]] = {}
        self.buffers = {batch: self._buffers(batch)}
        self.chains = self._buffers(batch) if persistent else {}
        if persistent:  # the chains start from the hidden states of random training rows
            start = torch.randperm(len(data), device=rbm.device, generator=generator)[:batch]
            torch.mm(self.data[start], self.to_hidden, out=self.chains["p_neg_"]).sigmoid_()
            self.sample_(self.chains["p_neg_"], self.chains["h_neg_"])

    def _buffers(self, rows: int) -> dict[str, torch.Tensor]:
        """Buffers of ``rows`` rows: ``name`` with the ones column, ``name_`` without it."""
        rbm, buffers = self.rbm, {}
        for name, units in (("v", rbm.n_visible), ("p", rbm.n_hidden), ("h", rbm.n_hidden),
                            ("v_neg", rbm.n_visible), ("p_neg", rbm.n_hidden),
                            ("h_neg", rbm.n_hidden)):
            buffers[name] = torch.ones(rows, units + 1, device=rbm.device, dtype=rbm.dtype)
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
        rbm = self.rbm
        unit = torch.randint(0, rbm.n_visible, (len(v),), device=v.device,
                             generator=self.generator)
        delta = torch.gather(v, 1, unit[:, None]).mul_(-2.0).add_(1.0)
        columns = self.to_hidden.index_select(0, unit)  # row n: W[:, unit_n]
        change = columns.mul_(delta).expm1_().mul_(p).log1p_().sum(1)
        change.add_(delta.view(-1).mul_(rbm.visible_bias.index_select(0, unit)))
        self.pll.add_(F.logsigmoid(change.neg_()).sum(), alpha=rbm.n_visible)


def _check_data(rbm: RBM, x: torch.Tensor) -> torch.Tensor:
    data = rbm.flat(x)
    if len(data) == 0:
        raise TrainwellError("rbm training needs at least one input sample; got none")
    lo, hi = (value.item() for value in data.aminmax())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise TrainwellError("rbm inputs contain NaN or infinite values")
    if rbm.visible == "bernoulli" and (lo < 0 or hi > 1):
        raise TrainwellError(f"bernoulli visible units need inputs in [0, 1]; got values in "
                             f"[{lo:.3g}, {hi:.3g}]: use data.normalize = 'unit', or "
                             "visible = 'gaussian' for standardized inputs")
    return data


def _init_visible_bias_(rbm: RBM, data: torch.Tensor) -> None:
    """Hinton 2010, section 8: ``b_i = log(p_i / (1 - p_i))``; the mean for Gaussian units."""
    mean = data.mean(0, dtype=torch.float64)
    if rbm.visible == "bernoulli":
        mean = mean.clamp(1e-3, 1 - 1e-3)
        mean = torch.log(mean / (1 - mean))
    rbm.visible_bias.copy_(mean)


def _bar(enabled: bool, description: str, epochs: int):
    if not enabled:
        return nullcontext(None)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[metrics]}"), TimeRemainingColumn(), transient=True)
    bar.add_task(description, total=epochs, metrics="")
    return bar
