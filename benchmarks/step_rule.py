"""Step rules against a converged run on the flood-nowcast cycle's terrain and rain.

2 members x 20 min on 512^2 cells of 30 m (``bench_flood_nowcast.setup``), batched, one
thread: for each rule, steps per member, CPU seconds, and against the converged run (the
default rule at cfl/4) the water volume, depth RMSE, max |diff| and CSI of depth > 0.1 m.
Page: docs/results/2026-12-02-cycle-step-rule.md.

    PYTHONPATH=src OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/step_rule.py
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_flood_nowcast import setup, time_batched  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--lead-min", type=float, default=20)
    args = ap.parse_args()
    from floodcast.physics.solver import set_threads

    set_threads(1)
    z, cell, cfg, bnd, state, rain = setup(args.size, args.members, args.lead_min)
    rules = {
        "converged: speed-aware, cfl/4": dataclasses.replace(cfg, cfl=cfg.cfl / 4),
        f"default: speed-aware, cfl {cfg.cfl}": cfg,
        "speed-aware, cfl 0.9": dataclasses.replace(cfg, cfl=0.9),
        "speed-aware, cfl 1.0": dataclasses.replace(cfg, cfl=1.0),
        "LISFLOOD-FP rule, cfl 0.5": dataclasses.replace(cfg, speed_aware_step=False, cfl=0.5),
        f"LISFLOOD-FP rule, cfl {cfg.cfl}": dataclasses.replace(cfg, speed_aware_step=False),
    }
    ref = None
    for name, c in rules.items():
        time_batched(z[:16, :16], cell, c, bnd, None, rain[:2, :1][..., :16, :16])  # compile
        t = time.process_time()
        _, steps, d = time_batched(z, cell, c, bnd, state, rain)
        cpu = time.process_time() - t
        d = d.astype(np.float64)
        ref = d if ref is None else ref
        w, wr = d > 0.1, ref > 0.1
        csi = (w & wr).sum() / max(int((w | wr).sum()), 1)
        rmse = float(np.sqrt(((d - ref) ** 2).mean()))
        print(
            f"{name}: steps/member {steps / rain.shape[0]:.0f}, CPU {cpu:.2f} s, "
            f"volume {d.sum() / ref.sum():.5f}, RMSE {rmse * 1e3:.2f} mm, "
            f"max|diff| {np.abs(d - ref).max():.3f} m, CSI@0.1 {csi:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
