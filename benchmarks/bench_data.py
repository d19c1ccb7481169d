"""Your data at speed: an image folder's first and cached reads, and a large CSV, in one run.

(a) A folder of ``--images`` PNG files (default 20,000) in ten class folders, written here from
    mnist5k's 28x28 digits and scikit-learn's 8x8 digits (each source sample written several
    times, shifted by a pixel or two so no two files are alike; the 8x8 digits upscaled):
    - peer: one epoch of a plain Pillow ``Dataset`` (open, convert, resize to 28x28, to a
      tensor) through ``torch.utils.data.DataLoader(num_workers=2, batch_size=256)``;
    - trainwell's first read: ``load_dataset("images", size=[28, 28])`` with an empty cache
      (list, decode into the uint8 cache, build the Dataset);
    - trainwell's cached read: the same call again (it lists the folder, a stat of every file,
      to check the cache), and the cached read of a resolved recipe, as every run does: its
      ``digest`` is the listing taken when the recipe was planned and names the cache. Goal:
      at least 20x faster than the peer's epoch;
    - a training epoch (``trainwell.loop.fit``, MLP 784-256-256-10, batch 128) on the cached
      images against the same epoch on a Dataset built from the in-memory arrays the PNGs were
      written from (split the same way); and on the cached images kept out of memory
      (``in_memory = false``: uint8 rows memory-mapped, each batch gathered and decoded).
      Goal: within 10 %. They alternate, in turns going first, best of ``--repeats`` (at
      least 6: one epoch is short and the machine may be shared).
(b) A CSV of ``--rows`` rows (default 1,000,000) x 50 feature columns and an integer label:
    ``load_dataset("table", target="label")`` (read, convert, split, standardize) against
    ``pyarrow.csv.read_csv`` alone. Goal: within 2x. Best of ``--repeats`` each, alternating.

Every file is written under ``--dir`` (default: a temporary folder, removed afterwards).

    python benchmarks/bench_data.py [--images 20000] [--rows 1000000] [--repeats 3] [--dir D]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trainwell.data import load_dataset, resolve_data
from trainwell.data.builtin import _digits_raw, _mnist5k_raw
from trainwell.data.splits import from_splits


def write_images(root: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` PNG digits in ``root/<label>/``; returns the 28x28 uint8 arrays written."""
    from PIL import Image

    x5, y5 = _mnist5k_raw()
    xd, yd = _digits_raw()
    mnist = x5.reshape(-1, 28, 28).astype(np.uint8)
    digits = np.stack([np.asarray(Image.fromarray((d.reshape(8, 8) * 255 / 16).astype(np.uint8))
                                  .resize((28, 28), Image.Resampling.BILINEAR)) for d in xd])
    pool_x = np.concatenate([mnist, digits])
    pool_y = np.concatenate([y5, yd]).astype(np.int64)
    xs = np.empty((count, 28, 28), np.uint8)
    ys = np.empty(count, np.int64)
    for i in range(count):
        j, turn = i % len(pool_x), i // len(pool_x)
        xs[i] = np.roll(pool_x[j], (turn % 3 - 1, turn // 3 % 3 - 1), axis=(0, 1))
        ys[i] = pool_y[j]
        folder = root / str(ys[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(xs[i]).save(folder / f"{i:06d}.png", compress_level=1)
    return xs, ys


class PillowFolder(torch.utils.data.Dataset):
    """The plain way: one file opened, decoded and converted per sample."""

    def __init__(self, root: Path) -> None:
        self.items = [(f, int(f.parent.name)) for f in sorted(root.rglob("*.png"))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from PIL import Image

        f, label = self.items[i]
        with Image.open(f) as img:
            pixels = np.asarray(img.convert("L").resize((28, 28)), dtype=np.float32) / 255.0
        return torch.from_numpy(pixels)[None], label


def pillow_epoch(root: Path) -> float:
    loader = torch.utils.data.DataLoader(PillowFolder(root), batch_size=256, shuffle=True,
                                         num_workers=2)
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def train_epoch(ds) -> float:
    from trainwell.loop import fit
    from trainwell.models import build_model

    torch.manual_seed(0)
    model = build_model("mlp", input_shape=ds.meta.input_shape, num_classes=10, depth=2,
                        width=256)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    start = time.perf_counter()
    fit(model, ds, opt, epochs=1, batch_size=128, eval_every=0,
        generator=torch.Generator().manual_seed(0))
    return time.perf_counter() - start


def bench_images(work: Path, count: int, repeats: int) -> None:
    root = work / "pictures"
    t_write, (xs, ys) = timed(lambda: write_images(root, count))
    print(f"(a) {count} PNG files written in {t_write:.1f} s")
    cache = str(work / "cache")
    t_peer = min(pillow_epoch(root) for _ in range(repeats))
    options = {"path": str(root), "size": [28, 28], "cache_dir": cache, "normalize": "unit"}
    t_first, cached = timed(lambda: load_dataset("images", **options))
    t_cached = min(timed(lambda: load_dataset("images", **options))[0] for _ in range(repeats))
    resolved = resolve_data("images", options)
    t_resolved = min(timed(lambda: load_dataset("images", **resolved))[0]
                     for _ in range(repeats))
    stored = load_dataset("images", **resolved, in_memory=False)
    print(f"    peer: one epoch of a Pillow Dataset, DataLoader(num_workers=2): {t_peer:.2f} s")
    print(f"    trainwell first read (decode and cache): {t_first:.2f} s "
          f"({t_peer / t_first:.2f}x the peer's epoch speed)")
    print(f"    trainwell cached read: {t_cached:.3f} s -> {t_peer / t_cached:.1f}x faster than "
          f"the peer's epoch (goal >= 20x)")
    print(f"    trainwell cached read of a resolved recipe (no listing): {t_resolved:.3f} s -> "
          f"{t_peer / t_resolved:.1f}x faster than the peer's epoch (goal >= 20x)")
    # the same arrays, split the same way, never written to a file
    memory = from_splits({"train": (xs[:, None], ys)}, name="memory", source="", options={},
                         key="data", value="memory", val_fraction=0.1, test_fraction=0.2,
                         labels_fraction=1.0, split_seed=0, normalize="unit",
                         unit_range=(0.0, 255.0))
    assert memory.x_train.shape == cached.x_train.shape
    train_epoch(memory)  # torch's first steps (threads, allocator) paid before timing
    on_cache, on_memory, on_stored = [], [], []
    for i in range(max(repeats, 6)):  # the order turns every repeat, so none always goes first
        trio = [(cached, on_cache), (memory, on_memory), (stored, on_stored)]
        for ds, times in trio[i % 3:] + trio[:i % 3]:
            times.append(train_epoch(ds))
    ratio = min(on_cache) / min(on_memory)
    print(f"    training epoch on the cached images {min(on_cache):.2f} s, on in-memory tensors "
          f"{min(on_memory):.2f} s -> {ratio:.3f}x (goal <= 1.10)")
    print(f"    training epoch on the cached images kept out of memory (uint8 memmap, decoded per "
          f"batch) {min(on_stored):.2f} s -> {min(on_stored) / min(on_memory):.3f}x the "
          "in-memory epoch")


def bench_csv(work: Path, rows: int, repeats: int) -> None:
    import pyarrow as pa
    from pyarrow import csv

    rng = np.random.default_rng(0)
    label = rng.integers(0, 10, rows)
    cols = {f"f{i}": np.round(rng.normal(size=rows) + (label == i % 10), 2) for i in range(50)}
    cols["label"] = label
    path = work / "table.csv"
    table = pa.table(cols)
    del cols
    start = time.perf_counter()
    csv.write_csv(table, path)
    t_write = time.perf_counter() - start
    print(f"(b) CSV of {rows} rows x 50 columns written in {t_write:.1f} s "
          f"({path.stat().st_size / 1e6:.0f} MB)")
    peer, ours = [], []
    for _ in range(repeats):
        peer.append(timed(lambda: csv.read_csv(path))[0])
        ours.append(timed(lambda: load_dataset("table", path=str(path), target="label"))[0])
    print(f"    pyarrow.csv.read_csv alone: {min(peer):.2f} s; trainwell table (read, convert, "
          f"split, standardize): {min(ours):.2f} s -> {min(ours) / min(peer):.2f}x (goal <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench_data-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.images:
            bench_images(work, args.images, args.repeats)
        if args.rows:
            bench_csv(work, args.rows, args.repeats)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
