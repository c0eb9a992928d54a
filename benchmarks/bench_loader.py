"""Loader throughput vs what training consumes, and store size vs one record per window.

    python benchmarks/bench_loader.py --data data/dev.zarr [--batches 30]

Prints samples/s of the DataModule's train loader with 0, 1 and 2 workers, an
in-memory tensor upper bound, and the samples/s that one training step of the
default model (DeepLabV3+ / resnet18, CE + Dice, AdamW) consumes on this CPU; then
the store's size on disk against the one-record-per-window layout of the original
pipeline. Targets: loader >= 3x training consumption; store >= 5x smaller.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from floodcast.data import store
from floodcast.data.torchdata import FloodDataset, make_loader


def loader_rate(ds, workers: int, batch: int, batches: int, repeats: int = 3) -> float:
    rates = []
    for rep in range(repeats):
        loader = make_loader(ds, batch, True, workers, seed=rep)
        it = iter(loader)
        next(it)  # worker start-up is not throughput
        t0 = time.perf_counter()
        n = 0
        for _ in range(batches):
            try:
                n += len(next(it)["x"])
            except StopIteration:
                break
        rates.append(n / (time.perf_counter() - t0))
        del it, loader
    return statistics.median(rates)


def memory_rate(ds, batch: int, batches: int) -> float:
    xs = torch.stack([ds[i]["x"] for i in range(min(len(ds), batch * 4))])
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        idx = torch.randint(0, len(xs), (batch,))
        n += len(xs[idx])
    return n / (time.perf_counter() - t0)


def train_rate(in_ch: int, patch: int, batch: int, steps: int = 5) -> float:
    from floodcast.models.registry import build_model
    from floodcast.training.losses import build_loss

    model = build_model({"name": "deeplabv3plus", "encoder": "resnet18", "in_channels": in_ch})
    loss_fn = build_loss("ce_dice")
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, in_ch, patch, patch)
    y = torch.randint(0, 2, (batch, patch, patch))
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x)["logits"], y).backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    return batch / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ds = FloodDataset(a.data, "train")
    p = ds.spec["patch"]
    print(f"store {a.data}: {len(ds)} train samples, {ds.in_channels} channels, {p}x{p} patches")
    consume = train_rate(ds.in_channels, p, a.batch)
    print(f"training consumes (DeepLabV3+/resnet18, {a.threads} thread): {consume:8.1f} samples/s")
    print(
        f"in-memory tensor upper bound:                {memory_rate(ds, a.batch, a.batches):8.1f} samples/s"
    )
    for w in (0, 1, 2):
        r = loader_rate(ds, w, a.batch, a.batches)
        print(
            f"loader, {w} workers: {r:8.1f} samples/s = {r / consume:5.1f}x training consumption "
            f"(target >= 3x)"
        )
    _, attrs = store.read_index(a.data)
    rec = attrs["summary"]["record_per_window_bytes"]
    size = store.size_on_disk(a.data)
    print(
        f"store on disk {size / 2**20:.1f} MiB; one record per window {rec['raw'] / 2**20:.1f} MiB raw "
        f"= {rec['raw'] / size:.1f}x, ~{rec['gzip_estimate'] / 2**20:.1f} MiB gzip = "
        f"{rec['gzip_estimate'] / size:.1f}x (target >= 5x)"
    )


if __name__ == "__main__":
    main()
