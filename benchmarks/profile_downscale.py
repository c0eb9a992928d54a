"""Where a downscaled run's time goes, against the fine solve it replaces, on one thread.

On a 128 x 128 crop of the Green River lidar (2 m cells, the held-out crop of
``downscale_data.py``; ``--size N``: an N x N crop from the NW corner) under 40 min of
uniform 30 mm/h rain (8 saved maps), for F = 4 and 8:
the fine solve, then the emulator's parts - ``FineGrid`` (the static channels, flow
accumulation included: once per DEM), the coarse solve, the per-map channels, the model's
forward passes - as CPU seconds of this process (``time.process_time``: on a shared
machine wall time measures the other processes too) and wall seconds, and the ratio of
the fine solve to the emulator's sum: for all 8 maps, and for one map (the coarse solve,
the channels of one map and one forward pass: e.g. the maximum-depth map only). The model
is a registry U-Net of the downscaler's configuration with untrained weights: its cost does
not depend on the weights. Both solves run through ``Simulation.advance`` (the compiled
step loop where the code has it).

    PYTHONPATH=src python benchmarks/profile_downscale.py --widths 8 4
    PYTHONPATH=src python benchmarks/profile_downscale.py --widths 8 --models small_unet:3 subpixel_unet:4
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

SHARED = Path(
    os.environ.get("FLOODCAST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)


def clock(fn, repeat: int = 3):
    """(result, best CPU s, best wall s) over ``repeat`` calls."""
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return out, min(cpu), min(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--widths", type=int, nargs="+", default=[8, 4])
    ap.add_argument(
        "--models",
        nargs="+",
        default=["small_unet:3"],
        help="registry models as NAME:ENCODER_DEPTH, each at every --widths",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--size", type=int, default=128, help="crop side (cells); 128 = the held-out crop"
    )
    a = ap.parse_args()
    import torch

    from floodcast.io.dem import read_dem
    from floodcast.io.dem_tools import block_mean
    from floodcast.models.registry import build_model
    from floodcast.physics.solver import set_threads
    from floodcast.simulation.downscale import FineGrid, block_mean_grid, simulate_coarse
    from floodcast.simulation.downscale_rain import frame_rain_inputs
    from floodcast.training.downscale import DownscaleTrainConfig, model_config

    torch.set_num_threads(1)
    set_threads(1)
    gr = block_mean(read_dem(SHARED / "dem/topotoolbox/greenriver.tif"), 2.0).elevation
    r0, c0 = (128, 448) if a.size == 128 else (0, 0)  # larger: from the NW corner
    z = np.asarray(gr[r0 : r0 + a.size, c0 : c0 + a.size], np.float32)
    rain = np.full((8,) + z.shape, 30.0, np.float32)
    acc, recent = frame_rain_inputs(rain, 300.0)
    solver = {"manning": 0.035, "max_step": 10.0, "boundary": "free", "threads": 1}
    FineGrid(z, 2.0, 4)  # compile the flow-accumulation kernel outside the clocks
    simulate_coarse(block_mean_grid(z, 8), 16.0, block_mean_grid(rain, 8)[:1], 300.0, solver)
    fine, f_cpu, f_wall = clock(lambda: simulate_coarse(z, 2.0, rain, 300.0, solver), a.repeat)
    print(f"fine solve 2 m: {f_cpu:.3f} s CPU ({f_wall:.3f} s wall), {fine['steps']} steps")
    for f in a.factors:
        g, g_cpu, _ = clock(lambda f=f: FineGrid(z, 2.0, f), a.repeat)
        rc = block_mean_grid(rain, f)
        c, c_cpu, _ = clock(
            lambda g=g, f=f, rc=rc: simulate_coarse(g.zc, 2.0 * f, rc, 300.0, solver)
        )
        xs, ch_cpu, _ = clock(
            lambda g=g, c=c: np.stack(
                [g.channels(h, r, q) for h, r, q in zip(c["depth"], acc, recent, strict=True)]
            )
        )
        _, ch1_cpu, _ = clock(
            lambda g=g, c=c: g.channels(c["depth"][-1], acc[-1], recent[-1]), a.repeat
        )
        x = torch.from_numpy(xs)
        for spec, w in ((m, w) for m in a.models for w in a.widths):
            name, depth = spec.split(":") if ":" in spec else (spec, "3")
            cfg = DownscaleTrainConfig(
                data="", out="", factor=f, width=w, model=name, encoder_depth=int(depth)
            )
            model = build_model(model_config(cfg), seed=0).eval()
            with torch.inference_mode():
                model(x[:1])
                _, m_cpu, m_wall = clock(lambda model=model, x=x: model(x), a.repeat)
                _, m1_cpu, _ = clock(lambda model=model, x=x: model(x[:1]), a.repeat)
            total = g_cpu + c_cpu + ch_cpu + m_cpu
            one = g_cpu + c_cpu + ch1_cpu + m1_cpu
            print(
                f"x{f} {name} depth {depth} width {w}: FineGrid {g_cpu * 1e3:.1f} ms + "
                f"coarse solve {c_cpu * 1e3:.1f} ms "
                f"({c['steps']} steps) + channels {ch_cpu * 1e3:.1f} ms + model {m_cpu * 1e3:.1f} ms "
                f"({m_cpu / len(x) * 1e3:.2f} ms/map; wall {m_wall * 1e3:.1f} ms) = "
                f"{total * 1e3:.1f} ms CPU -> fine / emulator {f_cpu / total:.1f}x "
                f"(model share {m_cpu / total:.0%}); one map: {one * 1e3:.1f} ms CPU "
                f"(channels {ch1_cpu * 1e3:.1f} + model {m1_cpu * 1e3:.1f}) -> {f_cpu / one:.1f}x"
            )


if __name__ == "__main__":
    main()
