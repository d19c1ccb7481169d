"""Trainer throughput against hand-written PyTorch loops and PyTorch Lightning, in one run.

Same MLP, data (mnist1d), batch size, epochs, optimizer and seed for every contender:
  (a) trainwell's ``fit``             (b) a hand-written loop over tensor slices
  (c) a hand-written loop over a DataLoader   (d) PyTorch Lightning's Trainer
and trainwell's ``fit`` with the per-layer gradient-flow recorder on, for its overhead.
Each contender runs ``--repeats`` times, interleaved; the best time counts (the machine is
shared and noisy). Evaluation happens once, after training, for every contender.
Goals on 2 CPU cores: (a) >= 0.95x (b) and >= 1.5x (d); the recorder's overhead <= 5%.

    python benchmarks/bench_trainer.py [--epochs 20] [--batch-size 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import torch
import torch.nn.functional as F

from trainwell.data import load_dataset
from trainwell.diagnose import GradientFlowRecorder
from trainwell.loop import fit
from trainwell.models import build_model


def make_model(ds, seed):
    torch.manual_seed(seed)
    return build_model("mlp", input_shape=ds.meta.input_shape, num_classes=ds.meta.num_classes,
                       depth=3, width=256, activation="relu")


def run_trainwell(ds, args, callbacks=()):
    model = make_model(ds, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    t0 = time.perf_counter()
    fit(model, ds, opt, epochs=args.epochs, batch_size=args.batch_size, eval_every=0,
        generator=torch.Generator().manual_seed(0), callbacks=callbacks)
    return time.perf_counter() - t0


def run_trainwell_recorded(ds, args):
    return run_trainwell(ds, args, callbacks=[GradientFlowRecorder(every=args.record_every)])


def _final_eval(model, ds):
    model.eval()
    with torch.no_grad():
        for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
            logits = model(x)
            F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def run_slices(ds, args):
    model = make_model(ds, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    n, bs = len(ds.x_train), args.batch_size
    t0 = time.perf_counter()
    model.train()
    for _ in range(args.epochs):
        perm = torch.randperm(n, generator=gen)
        xs, ys = ds.x_train[perm], ds.y_train[perm]
        for i in range(0, n, bs):
            loss = F.cross_entropy(model(xs[i:i + bs]), ys[i:i + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _final_eval(model, ds)
    return time.perf_counter() - t0


def run_dataloader(ds, args):
    from torch.utils.data import DataLoader, TensorDataset

    model = make_model(ds, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(ds.x_train, ds.y_train), batch_size=args.batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    model.train()
    for _ in range(args.epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _final_eval(model, ds)
    return time.perf_counter() - t0


def run_lightning(ds, args):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make_model(ds, 0)

        def training_step(self, batch, _):
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    module = Module()
    loader = DataLoader(TensorDataset(ds.x_train, ds.y_train), batch_size=args.batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(0))
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    t0 = time.perf_counter()
    trainer.fit(module, loader)
    _final_eval(module.net, ds)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--record-every", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    ds = load_dataset("mnist1d", num_samples=args.num_samples)
    contenders = {"trainwell": run_trainwell,
                  "trainwell + gradient flow": run_trainwell_recorded,
                  "hand loop over slices": run_slices,
                  "hand loop over DataLoader": run_dataloader}
    try:
        import lightning  # noqa: F401
        contenders["PyTorch Lightning"] = run_lightning
    except ImportError:
        print("lightning is not installed (make bench installs it): skipping (d)")
    best = {name: float("inf") for name in contenders}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            best[name] = min(best[name], fn(ds, args))
    n = len(ds.x_train) * args.epochs
    print(f"MLP 3x256 relu on mnist1d, {len(ds.x_train)} training samples, batch "
          f"{args.batch_size}, {args.epochs} epochs, {torch.get_num_threads()} threads, "
          f"best of {args.repeats}")
    print(f"{'contender':28s} {'seconds':>8s} {'samples/s':>10s} {'trainwell / this':>17s}")
    for name, sec in best.items():
        print(f"{name:28s} {sec:8.2f} {n / sec:10.0f} {sec / best['trainwell']:16.2f}x")
    ratio_b = best["hand loop over slices"] / best["trainwell"]
    print(f"goal trainwell >= 0.95x hand loop over slices: {ratio_b:.2f}x "
          f"{'met' if ratio_b >= 0.95 else 'NOT met'}")
    overhead = best["trainwell + gradient flow"] / best["trainwell"] - 1
    print(f"gradient-flow recorder (every {args.record_every} steps) overhead: {100 * overhead:+.1f}% "
          f"(goal <= 5%: {'met' if overhead <= 0.05 else 'NOT met'})")
    if "PyTorch Lightning" in best:
        ratio_d = best["PyTorch Lightning"] / best["trainwell"]
        print(f"goal trainwell >= 1.5x PyTorch Lightning: {ratio_d:.2f}x "
              f"{'met' if ratio_d >= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
