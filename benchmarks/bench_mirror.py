"""Does the model know flood physics, or the three development DEMs? A mirrored world.

    python benchmarks/bench_mirror.py [--model MODEL.pt] [--data STORE.zarr] [--every 4]

The test split holds out events, not terrain: every test event falls on a DEM the model
trained on. Terrain, rain and the physics have no preferred direction (the solver's square
grid and D8 routing are symmetric under flips and transposes), so each test event mirrored
or transposed as a whole - DEM, rain and the simulator's depth together - is an equally
valid flood on terrain the model has never seen in that orientation. The model maps every
``--every``-th frame of every test event in each of the 8 orientations at its own cut; the
CSI of the untouched orientation against the others shows how much of its skill is
memorised terrain. Non-autoregressive models only (a rollout would mix the two effects).
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", default="outputs/warm/small-state+upslope_area-cosine-85min-warm/model.pt"
    )
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--every", type=int, default=4, help="score every N-th frame")
    ap.add_argument("--max-events", type=int, default=None)
    a = ap.parse_args()
    import torch

    from floodcast.data import store
    from floodcast.data.samples import DIHEDRAL_NAMES, dihedral, rain_window
    from floodcast.metrics import Contingency
    from floodcast.predict.mapper import FloodMapper

    torch.set_num_threads(1)
    mp = FloodMapper.load(a.model)
    if "prev_depth" in mp.extras:
        raise SystemExit("bench_mirror scores non-autoregressive models only")
    _, attrs = store.read_index(a.data)
    events = sorted(e for e, s in attrs["summary"]["splits"].items() if s == "test")
    events = events[: a.max_events] if a.max_events else events
    tables = {name: Contingency() for name in DIHEDRAL_NAMES}
    for ev in events:
        rain, depth, ea = store.read_event(a.data, ev)
        z, da = store.read_dem(a.data, ea["plan"]["dem_id"])
        interval = float(ea["plan"]["interval_s"])
        frames = range(a.every - 1, rain.shape[0], a.every)
        for t, name in enumerate(DIHEDRAL_NAMES):
            zt, rt = dihedral(z, t), dihedral(rain, t)
            for k in frames:
                # every frame since the start, zero rain before it, as in rollouts
                fm = mp.predict(
                    rain_window(rt, k, max(mp.frames, k + 1)), zt, float(da["cell_size"]), interval
                )
                tables[name].update(
                    Contingency.from_masks(
                        fm.wet, dihedral(depth[k], t) > mp.threshold, np.isfinite(zt)
                    )
                )
    print(
        f"model {a.model} at cut {mp.cut:.3f}; {len(events)} test events, every {a.every}th frame"
    )
    print("| orientation | CSI | MCC | bias |\n|---|---|---|---|")
    for name, t in tables.items():
        s = t.scores()
        print(f"| {name} | {s['csi']:.3f} | {s['mcc']:.3f} | {s['bias']:.2f} |")


if __name__ == "__main__":
    main()
