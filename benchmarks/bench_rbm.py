"""RBM training throughput against scikit-learn, learnergy and the GEMM roofline, in one run.

A binary 784 → 500 RBM on mnist5k (all 5,000 images, ``normalize="unit"``, flattened; the
[0, 1] intensities are the Bernoulli visible data of every contender), batch 100, float32,
learning rate 0.1, ``--epochs`` epochs, no momentum, no weight decay (scikit-learn has
neither), torch's default threads and numpy's BLAS threads:
  (a) trainwell CD-1                  (b) trainwell PCD-1, the algorithm scikit-learn runs
  (c) scikit-learn ``BernoulliRBM`` (PCD-1)      (d) learnergy ``RBM`` (CD-1, autograd + SGD)
  (e) the roofline: the five matrix products of a CD-1 step alone (v·Wᵀ, h·W, v'·Wᵀ and the
      two outer products), with preallocated outputs, as many times as (a) does them.
Each contender runs ``--repeats`` times, interleaved, after a pause that lets the previous
one's BLAS threads go idle; the best time counts (the machine is shared and noisy). The
roofline share compares like with like and is robust to noise: the fastest epoch of (e)
over the fastest epoch of (a) (trainwell times each epoch). The
reconstruction error of every trained RBM is computed afterwards by one formula on the same
data: the mean over images and pixels of ``(v - sigmoid(sigmoid(v Wᵀ + c) W + b))²``.
Goals on 2 CPU cores: (a) >= 1.1x (c), (a) >= 2x (d), (a) >= 90% of (e), and the
reconstruction error of (a) no worse than that of (c).

    python benchmarks/bench_rbm.py [--epochs 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from trainwell.data import load_dataset
from trainwell.pretrain import RBM

HIDDEN, BATCH, LR = 500, 100, 0.1


def recon_error(x: torch.Tensor, weight, hidden_bias, visible_bias) -> float:
    """Mean squared error of the mean-field reconstruction, the same formula for every RBM."""
    w, c, b = (torch.as_tensor(np.asarray(t), dtype=torch.float32) for t in
               (weight, hidden_bias, visible_bias))
    h = torch.sigmoid(x @ w.T + c)
    return (torch.sigmoid(h @ w + b) - x).square().mean().item()


def run_trainwell(x, args, persistent):
    rbm = RBM(x.shape[1], HIDDEN, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    history = rbm.fit(x, epochs=args.epochs, lr=LR, batch_size=BATCH, persistent=persistent,
                      momentum=0.0, final_momentum=0.0, weight_decay=0.0,
                      generator=torch.Generator().manual_seed(1))
    seconds = time.perf_counter() - t0
    return seconds, (rbm.weight, rbm.hidden_bias, rbm.visible_bias), min(history.seconds)


def run_sklearn(x, args):
    from sklearn.neural_network import BernoulliRBM

    data = x.numpy()
    rbm = BernoulliRBM(n_components=HIDDEN, learning_rate=LR, batch_size=BATCH,
                       n_iter=args.epochs, random_state=0)
    t0 = time.perf_counter()
    rbm.fit(data)
    seconds = time.perf_counter() - t0
    assert rbm.components_.dtype == np.float32
    return seconds, (rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_), None


def run_learnergy(x, args):
    from learnergy.models.bernoulli import RBM as LearnergyRBM
    from torch.utils.data import TensorDataset

    torch.manual_seed(0)
    rbm = LearnergyRBM(n_visible=x.shape[1], n_hidden=HIDDEN, steps=1, learning_rate=LR,
                       momentum=0.0, decay=0.0)
    data = TensorDataset(x, torch.zeros(len(x)))
    t0 = time.perf_counter()
    rbm.fit(data, batch_size=BATCH, epochs=args.epochs)
    seconds = time.perf_counter() - t0
    return seconds, (rbm.W.detach().T, rbm.b.detach(), rbm.a.detach()), None


def run_roofline(x, args):
    """The five products of a CD-1 step, on random data of the same shapes, nothing else."""
    g = torch.Generator().manual_seed(0)
    v, v_neg = torch.rand(BATCH, x.shape[1], generator=g), torch.empty(BATCH, x.shape[1])
    h, p_neg = torch.rand(BATCH, HIDDEN, generator=g), torch.empty(BATCH, HIDDEN)
    w = torch.randn(HIDDEN, x.shape[1], generator=g) * 0.01
    inc, p = torch.zeros_like(w), torch.empty(BATCH, HIDDEN)
    epochs = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for _ in range(-(-len(x) // BATCH)):
            torch.mm(v, w.T, out=p)
            torch.mm(h, w, out=v_neg)
            torch.mm(v_neg, w.T, out=p_neg)
            inc.addmm_(p.T, v, alpha=1e-3)
            inc.addmm_(p_neg.T, v_neg, alpha=-1e-3)
        epochs.append(time.perf_counter() - t0)
    return sum(epochs), None, min(epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    ds = load_dataset("mnist5k", normalize="unit")
    x = torch.cat([ds.x_train, ds.x_val, ds.x_test]).flatten(1).contiguous()
    contenders = {
        "trainwell CD-1": lambda: run_trainwell(x, args, persistent=False),
        "trainwell PCD-1": lambda: run_trainwell(x, args, persistent=True),
        "scikit-learn BernoulliRBM": lambda: run_sklearn(x, args),
        "roofline (5 GEMMs/step)": lambda: run_roofline(x, args),
    }
    try:
        import learnergy  # noqa: F401
        contenders["learnergy RBM"] = lambda: run_learnergy(x, args)
    except ImportError:
        print("learnergy is not installed (make bench installs it): skipping (d)")
    best = {name: float("inf") for name in contenders}
    best_epoch = dict(best)
    errors: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            time.sleep(1.0)  # let the previous contender's BLAS threads stop spinning
            seconds, params, epoch = fn()
            best[name] = min(best[name], seconds)
            if epoch is not None:
                best_epoch[name] = min(best_epoch[name], epoch)
            if params is not None:
                errors[name] = recon_error(x, *params)
    n = len(x) * args.epochs
    tw = best["trainwell CD-1"]
    print(f"RBM {x.shape[1]}→{HIDDEN} on mnist5k, {len(x)} images, batch {BATCH}, lr {LR}, "
          f"{args.epochs} epochs, float32, {torch.get_num_threads()} torch threads, "
          f"best of {args.repeats}")
    print(f"{'contender':28s} {'seconds':>8s} {'samples/s':>10s} {'this / trainwell':>17s} "
          f"{'recon error':>12s}")
    for name, sec in best.items():
        err = f"{errors[name]:12.4f}" if name in errors else f"{'':12s}"
        print(f"{name:28s} {sec:8.2f} {n / sec:10.0f} {sec / tw:16.2f}x {err}")
    goals = [("trainwell CD-1 >= 1.1x scikit-learn", best["scikit-learn BernoulliRBM"] / tw, 1.1),
             ("trainwell PCD-1 >= 1.1x scikit-learn (same algorithm)",
              best["scikit-learn BernoulliRBM"] / best["trainwell PCD-1"], 1.1),
             ("trainwell CD-1 >= 90% of the roofline (fastest epochs)",
              best_epoch["roofline (5 GEMMs/step)"] / best_epoch["trainwell CD-1"], 0.9)]
    if "learnergy RBM" in best:
        goals.append(("trainwell CD-1 >= 2x learnergy", best["learnergy RBM"] / tw, 2.0))
    for label, value, goal in goals:
        print(f"goal {label}: {value:.2f} {'met' if value >= goal else 'NOT met'}")
    sk, tw_err = errors["scikit-learn BernoulliRBM"], errors["trainwell CD-1"]
    print(f"goal trainwell CD-1 reconstruction error <= scikit-learn's: {tw_err:.4f} vs "
          f"{sk:.4f} {'met' if tw_err <= sk else 'NOT met'}")


if __name__ == "__main__":
    main()
