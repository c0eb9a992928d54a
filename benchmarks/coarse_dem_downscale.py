"""Which coarse DEM puts a downscaler's coarse water where the fine run has it?

For every test event of a pairs store (``benchmarks/downscale_data.py``) and each factor,
the event is solved again on the coarse DEM of each rule - block mean, block minimum
(``simulation.downscale_fields.COARSE_DEMS``) and, for comparison only, block percentiles
(``--percentiles``) - under the same block-mean rain and the store's solver settings. Each
coarse run is compared with the fine run (every saved time, rain and dry tail):

* volume fill's CSI@0.1 (the coarse block volume poured lowest first: no model, the
  downscaler's prior), summed over the events' contingency tables;
* the coarse run's water volume over the fine run's;
* the share of the fine wet cells (> 0.1 m) in blocks the coarse run leaves below 2 cm;
* the correlation of the coarse depth with the fine depth block-averaged.

    PYTHONPATH=src OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        python benchmarks/coarse_dem_downscale.py --work /tmp/fds5 [--factors 4 8]

Page: docs/results/2026-12-02-downscaling-block-min.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def block_percentile(z: np.ndarray, f: int, q: float) -> np.ndarray:
    """The ``q``-th percentile of each block's valid cells (walls as the block mean's)."""
    from floodcast.simulation.downscale import block_mean_grid

    ny, nx = z.shape
    b = z.reshape(ny // f, f, nx // f, f).transpose(0, 2, 1, 3).reshape(ny // f, nx // f, -1)
    with np.errstate(all="ignore"):
        out = np.nanpercentile(b, q, axis=-1)
    return np.where(np.isnan(block_mean_grid(z, f)), np.nan, out).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/floodcast-downscale"))
    ap.add_argument("--factors", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--percentiles", type=float, nargs="*", default=[10, 25])
    a = ap.parse_args()
    from floodcast.data import store
    from floodcast.data.downscale import event_split, read_pair
    from floodcast.simulation.downscale import (
        block_mean_grid,
        coarse_grid,
        simulate_coarse,
        upsample_nearest,
        volume_fill_depth,
    )

    path = a.work / "store.zarr"
    events = sorted(e for e, s in event_split(path).items() if s == "test")
    rules = {"mean": None, "min": None} | {f"p{q:g}": q for q in a.percentiles}
    for f in a.factors:
        tables = {r: [0, 0] for r in rules}
        for eid in events:
            pair = read_pair(path, eid, f)
            solver = store.read_event(path, eid)[2]["solver"]
            hf = pair["fine_depth"].astype(np.float64)
            wet_f, hb = hf > 0.1, block_mean_grid(hf, f)
            rain_c = block_mean_grid(pair["rain"], f)
            row = []
            for r, q in rules.items():
                z = pair["fine_dem"]
                zc = coarse_grid(z, f, r) if q is None else block_percentile(z, f, q)
                hc = simulate_coarse(zc, pair["cell_size"] * f, rain_c, pair["interval_s"], solver)[
                    "depth"
                ].astype(np.float64)
                vf = np.stack([volume_fill_depth(z, h, f) for h in hc]) > 0.1
                hits, union = int((vf & wet_f).sum()), int((vf | wet_f).sum())
                tables[r][0] += hits
                tables[r][1] += union
                missed = (wet_f & upsample_nearest(hc < 0.02, f)).sum() / max(wet_f.sum(), 1)
                row.append(
                    f"{r}: volume {hc.sum() * f * f / max(hf.sum(), 1e-9):.2f}, in dry blocks "
                    f"{missed:.2f}, corr {np.corrcoef(hb.ravel(), hc.ravel())[0, 1]:.2f}, "
                    f"volume-fill CSI {hits / max(union, 1):.3f}"
                )
            print(f"x{f} {eid} {pair['dem_id']}: " + "; ".join(row), flush=True)
        print(
            f"x{f}, {len(events)} held-out events, volume-fill CSI@0.1 (all saved times): "
            + ", ".join(f"{r} {h / max(u, 1):.3f}" for r, (h, u) in tables.items()),
            flush=True,
        )


if __name__ == "__main__":
    main()
