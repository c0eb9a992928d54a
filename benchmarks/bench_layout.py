"""Does the NHWC memory layout (``torch.channels_last``) speed the models up on this CPU?

    python benchmarks/bench_layout.py [--models small_unet deeplabv3plus] [--repeats 7]

``build_model`` returns models in NHWC memory (shapes stay [B, C, H, W]). This times the
same model, same weights, in both layouts, interleaved so that machine noise hits both
alike, on one torch thread:

- a training step (forward + backward + AdamW) on a batch of 16 tiles of 128 x 128 with
  the 11 input channels of the state formulation (the bench_formulations recipe);
- a forward pass over one 512 x 512 map (what ``predict`` times against the simulator).

Prints the medians and the ratio NCHW / NHWC (> 1: NHWC is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from floodcast.models import build_model

SIZES = {
    "small_unet": {"decoder_channels": 8, "encoder_depth": 3},  # the small preset
    "deeplabv3plus": {"encoder_depth": 5},
}


def _train_step(model, opt, x, y) -> None:
    loss = torch.nn.functional.cross_entropy(model(x)["logits"], y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["small_unet", "deeplabv3plus"])
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    xb, yb = (
        torch.randn(16, 11, 128, 128, generator=g),
        torch.randint(0, 2, (16, 128, 128), generator=g),
    )
    xm = torch.randn(1, 11, 512, 512, generator=g)
    print(f"torch {torch.__version__}, 1 thread; medians of {a.repeats}, layouts interleaved\n")
    print("| model | task | NCHW (s) | NHWC (s) | NCHW / NHWC |")
    print("|---|---|---|---|---|")
    for name in a.models:
        nhwc = build_model(name, in_channels=11, seed=0, **SIZES.get(name, {}))
        nchw = build_model(name, in_channels=11, seed=0, **SIZES.get(name, {})).to(
            memory_format=torch.contiguous_format
        )
        jobs = {}
        for m in (nchw, nhwc):
            opt = torch.optim.AdamW(m.parameters(), 1e-3)

            def step(m=m, opt=opt) -> None:
                m.train()
                _train_step(m, opt, xb, yb)

            def infer(m=m) -> None:
                m.eval()
                with torch.no_grad():
                    m(xm)

            jobs[id(m)] = {"train step": step, "512x512 map": infer}
            for fn in jobs[id(m)].values():  # warm-up: oneDNN picks its kernels on first use
                fn()
        times = {task: {id(m): [] for m in (nchw, nhwc)} for task in ("train step", "512x512 map")}
        for _ in range(a.repeats):  # interleaved: one timing of each layout per round
            for m in (nchw, nhwc):
                for task, fn in jobs[id(m)].items():
                    times[task][id(m)].append(_once(fn))
        for task, t in times.items():
            a_s, b_s = statistics.median(t[id(nchw)]), statistics.median(t[id(nhwc)])
            print(f"| {name} | {task} | {a_s:.3f} | {b_s:.3f} | {a_s / b_s:.2f}x |")


if __name__ == "__main__":
    main()
