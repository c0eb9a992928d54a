"""Benchmark: the downscaler's speed-up on a whole map, not a 128 x 128 crop.

``bench_downscale.py`` times its held-out crops (256 m x 256 m): there the fixed costs of a
run - the kernel and model calls per saved map, the DEM set-up - weigh as much as the work.
This script times the same two paths on a whole DEM, one thread, side by side: the fine
solve against the coarse solve + the model (the DEM set-up, ``FineGrid``, counted). The map
holds training terrain, so only the time is measured here, no skill; the rain is a real
radar series (a store event's crop mean per frame) spread evenly over the map, which is one
or two radar pixels across. The DEM is cropped to a multiple of 8 so both factors map the
same cells.

    PYTHONPATH=src python benchmarks/bench_downscale_map.py --work /tmp/fds10 --model-pattern q{f}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from floodcast.defaults import DOWNSCALE_PRECISION, DOWNSCALE_PRECISIONS

sys.path.insert(0, str(Path(__file__).parent))
from bench_downscale import TARGET_SPEEDUP, time_pair  # noqa: E402 (the same timing as the crops)
from downscale_data import source_dems  # noqa: E402 (the DEMs the crops are cut from)

CELL_M = 2.0  # both source DEMs are at 2 m


def whole_dem(name: str) -> np.ndarray:
    """The source DEM ``name`` (``downscale_data.source_dems``) cropped to a multiple of 8."""
    z = np.asarray(source_dems()[name], np.float64)
    ny, nx = (n - n % 8 for n in z.shape)
    return z[:ny, :nx]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/floodcast-downscale"))
    ap.add_argument("--model-pattern", default="m{f}", help="model folder under --work")
    ap.add_argument("--factors", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--dem", choices=("greenriver", "zsw3"), default="greenriver")
    ap.add_argument("--event", default=None, help="store event whose rain is used (the wettest)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per factor (median)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--precision", choices=DOWNSCALE_PRECISIONS, default=DOWNSCALE_PRECISION)
    a = ap.parse_args()
    import torch

    from floodcast.data import store as st
    from floodcast.data.downscale import event_split, read_pair
    from floodcast.physics.solver import set_threads
    from floodcast.predict.downscale import load_downscaler

    set_threads(1)
    torch.set_num_threads(1)
    store = a.work / "store.zarr"
    z, cell = whole_dem(a.dem), CELL_M
    events = [a.event] if a.event else list(event_split(store))
    mean_rain = {e: float(np.nanmean(read_pair(store, e, a.factors[0])["rain"])) for e in events}
    wettest = max(mean_rain, key=mean_rain.get)
    p = read_pair(store, wettest, a.factors[0])
    series = np.nanmean(p["rain"], axis=(1, 2))  # mm/h per frame
    rain = np.broadcast_to(series[:, None, None], (len(series), *z.shape)).astype(np.float32)
    solver = {**st.read_event_attrs(store, wettest)["solver"], "threads": 1}
    print(
        f"{a.dem} {z.shape[0]}x{z.shape[1]} at {cell:g} m, rain of {wettest}: "
        f"{len(series)} frames of {p['interval_s']:g} s, mean {series.mean():.1f} mm/h"
    )
    report = {}
    for f in a.factors:
        model, info = load_downscaler(a.work / a.model_pattern.format(f=f) / "model.pt", f, cell)
        args = (
            model, info, f, z, cell, rain, p["interval_s"], solver, p["coarse_method"], a.precision
        )  # fmt: skip
        # the compile untimed, on a corner of the map (the same types: a whole fine solve
        # would only add a minute)
        time_pair(*args[:3], z[:128, :128], cell, rain[:, :128, :128], *args[6:])
        rows = [time_pair(*args) for _ in range(a.repeats)]
        for r in rows:
            print(
                f"  x{f}: fine {r['fine_s']:.2f} s ({r['fine_steps']} steps) vs set-up "
                f"{r['setup_s']:.2f} s + coarse {r['coarse_s']:.2f} s ({r['coarse_steps']} steps)"
                f" + model {r['model_s']:.2f} s = {r['emulator_total_s']:.2f} s -> "
                f"{r['ratio']:.1f}x wall ({r['ratio_prepared']:.1f}x set up once, "
                f"{r['ratio_cpu']:.1f}x CPU); coarse + volume fill {r['ratio_volume_fill']:.1f}x"
            )
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(
            f"x{f} WHOLE MAP: speed-up median {med['ratio']:.1f}x wall (target >= "
            f"{TARGET_SPEEDUP:g}: {'met' if med['ratio'] >= TARGET_SPEEDUP else 'MISSED'}), "
            f"{med['ratio_prepared']:.1f}x set up once, {med['ratio_cpu']:.1f}x CPU; volume "
            f"fill alone {med['ratio_volume_fill']:.1f}x"
        )
        report[f"x{f}"] = {"rows": rows, "median": med}
    if a.json:
        a.json.write_text(json.dumps({"dem": a.dem, "shape": z.shape, **report}, default=float))


if __name__ == "__main__":
    main()
