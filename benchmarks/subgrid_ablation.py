"""Ablate the sub-grid solver's depression storage and film roughness on a pairs store.

For every event of a split (``--split test``: the held-out DEMs; ``val``: validation events
of the train DEMs) of a pairs store (``benchmarks/downscale_data.py``), the coarse run is
redone with each combination of ``depressions`` (``physics.subgrid_pits``) on or off and
the film roughness K (``defaults.SUBGRID_FILM_ROUGHNESS``; 1 = off) and scored as volume
fill against the fine run: CSI@0.1 over every saved time, the rain frames and the dry
tail, the per-block oracle (the fine run's own block volumes through the same fill: the
ceiling of any per-block fill of the right volume) and the coarse run's water at the end
as a share of the fine run's. Version 2 of the solver is depressions off, K = 1.

    PYTHONPATH=src python benchmarks/subgrid_ablation.py /tmp/fds9/store.zarr --factor 4 --split val
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def ablate(store: str, factor: int, split: str, film: list[float]) -> dict:
    from floodcast.data import store as st
    from floodcast.data.downscale import event_split, read_pair
    from floodcast.io.rain import RainSeries
    from floodcast.metrics import Tally
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import SolverConfig
    from floodcast.physics.subgrid import subgrid_terrain
    from floodcast.physics.subgrid_pits import leaky_pits
    from floodcast.physics.subgrid_run import run_subgrid
    from floodcast.simulation.downscale import block_mean_grid
    from floodcast.simulation.volume_fill import VolumeFill

    variants = [(d, k) for d in (False, True) for k in film]
    tallies = {v: {p: Tally((0.1,)) for p in ("times", "rain", "tail", "oracle")} for v in variants}
    kept = {v: [] for v in variants}
    events = sorted(e for e, s in event_split(store).items() if s == split)
    for eid in events:
        p = read_pair(store, eid, factor)
        solver = st.read_event_attrs(store, eid)["solver"]
        rain_c = block_mean_grid(p["rain"], factor)
        n, dt = len(rain_c), p["interval_s"]
        series = RainSeries(rain_c, np.arange(n) * dt, n * dt, eid)
        cfg = SolverConfig(manning=float(solver["manning"]), max_step=solver["max_step"])
        edges = Boundaries.parse(solver["boundary"])
        z, cell = p["fine_dem"], p["cell_size"]
        valid = np.isfinite(z)
        oracle = block_mean_grid(p["fine_depth"], factor)
        pits = leaky_pits(z, factor)  # once per event: both the terrain and the fill read it
        fills = {dep: VolumeFill(z, factor, pits if dep else None) for dep in (False, True)}
        for dep, k in variants:
            fill = fills[dep]
            terrain = subgrid_terrain(z, factor, cell, depressions=dep, pits=pits)
            res = run_subgrid(terrain, series, cfg, edges, n * dt, dt, film_roughness=k)
            t = tallies[(dep, k)]
            for i, (hc, truth) in enumerate(zip(res.depth, p["fine_depth"], strict=True)):
                d = fill(hc)
                t["times"].add(d, truth, valid)
                t["rain" if i < p["rain_frames"] else "tail"].add(d, truth, valid)
                t["oracle"].add(fill(oracle[i]), truth, valid)
            kept[(dep, k)].append(
                float(res.depth[-1].mean() / max(p["fine_depth"][-1].mean(), 1e-12))
            )
    out = {}
    for (dep, k), t in tallies.items():
        name = f"depressions={'on' if dep else 'off'} film_K={k:g}"
        out[name] = {p: t[p].report()["csi@0.1"] for p in t} | {
            "water_kept_median": float(np.median(kept[(dep, k)]))
        }
    return {"factor": factor, "split": split, "events": events, "variants": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--split", default="test", choices=("train", "val", "test"))
    ap.add_argument("--film", type=float, nargs="+", default=[1.0, 3.0], help="film K values")
    ap.add_argument("--json", help="write the figures here too")
    a = ap.parse_args()
    r = ablate(a.store, a.factor, a.split, a.film)
    print(f"x{r['factor']} {r['split']} ({len(r['events'])} events), volume fill CSI@0.1:")
    print(f"{'variant':34s} {'times':>6s} {'rain':>6s} {'tail':>6s} {'oracle':>6s} {'kept':>6s}")
    for name, v in r["variants"].items():
        print(
            f"{name:34s} {v['times']:6.3f} {v['rain']:6.3f} {v['tail']:6.3f} "
            f"{v['oracle']:6.3f} {v['water_kept_median']:6.2f}"
        )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=2)


if __name__ == "__main__":
    main()
