"""Diagnose the downscaler's CSI shortfall on held-out DEMs: how far the baselines get, how
far a perfect per-block volume could get, and how much the coarse physics itself is off.

On the test events of a pairs store (``benchmarks/downscale_data.py``), for each factor:

* CSI@0.1 (every saved time) of the issue's baselines, volume fill, the model (if
  ``--model-dir`` has ``m<F>/model.pt``) and two oracles that read the fine run:
  ``oracle_fill`` (the fine run's own water volume per coarse block, poured lowest first:
  the ceiling of any per-block redistribution of the right volume) and ``oracle_wet_blocks``
  (volume fill restricted to the blocks wet in the fine run);
* the coarse run against the fine run block-averaged: volume ratio and the share of the
  fine wet cells lying in coarse blocks the coarse run leaves (almost) dry;
* per terrain class (steep, ponds, flat) and per DEM, for the best baseline and the model.

    PYTHONPATH=src python benchmarks/diagnose_downscale.py --work /tmp/fds3 --model-dir /tmp/fds3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def oracle_fill(pair: dict, grid) -> np.ndarray:
    from floodcast.simulation.downscale import block_mean_grid, volume_fill_depth

    hb = block_mean_grid(pair["fine_depth"], grid.factor)
    return np.stack([volume_fill_depth(grid.z, h, grid.factor) for h in hb])


def oracle_wet_blocks(pair: dict, grid) -> np.ndarray:
    from floodcast.simulation.downscale import block_mean_grid, upsample_nearest, volume_fill_depth

    wet = upsample_nearest(block_mean_grid(pair["fine_depth"] > 0.1, grid.factor) > 0, grid.factor)
    d = np.stack([volume_fill_depth(grid.z, h, grid.factor) for h in pair["coarse_depth"]])
    return np.where(wet, d, 0.0).astype(np.float32)


def physics_gap(pair: dict, factor: int) -> dict:
    """Coarse run vs the fine run block-averaged (all saved times)."""
    from floodcast.simulation.downscale import block_mean_grid, upsample_nearest

    hf = pair["fine_depth"].astype(np.float64)
    hc = pair["coarse_depth"].astype(np.float64)
    wet_f = hf > 0.1
    dry_block = upsample_nearest(hc < 0.02, factor)  # coarse run says: (almost) no water here
    hb = block_mean_grid(hf, factor)
    return {
        "volume_ratio_coarse_over_fine": float(hc.sum() * factor**2 / max(hf.sum(), 1e-9)),
        "fine_wet_in_dry_coarse_blocks": float((wet_f & dry_block).sum() / max(wet_f.sum(), 1)),
        "block_depth_corr": float(np.corrcoef(hb.ravel(), hc.ravel())[0, 1]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/floodcast-downscale"))
    ap.add_argument("--model-dir", type=Path, default=None, help="folder with m<F>/model.pt")
    ap.add_argument("--factors", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    from floodcast.evaluation.downscale import BASELINES, evaluate, where_errors

    store = a.work / "store.zarr"
    out = {}
    for f in a.factors:
        methods = {**BASELINES, "oracle_fill": oracle_fill, "oracle_wet_blocks": oracle_wet_blocks}
        mp = a.model_dir / f"m{f}" / "model.pt" if a.model_dir else None
        if mp is not None and mp.exists():
            from floodcast.predict.downscale import model_method

            methods["model"] = model_method(mp, f)
        gaps, where = {}, {}

        def on_event(eid, d, gaps=gaps, where=where, f=f):
            gaps[eid] = {"dem": d["pair"]["dem_id"], **physics_gap(d["pair"], f)}
            truth = d["pair"]["fine_depth"].max(0)
            for m in ("volume_fill", "model"):
                if m in d["result"]:
                    w = where_errors(d["result"][m]["pred_max"], truth, d["grid"])
                    for c, v in w.items():
                        if isinstance(v, dict):
                            s = where.setdefault(m, {}).setdefault(c, dict.fromkeys(v, 0.0))
                            for k in ("wet_truth", "misses", "false_alarms"):
                                s[k] += v[k]

        rep = evaluate(store, f, methods, "test", on_event=on_event)
        o = rep["overall"]
        print(f"\n== x{f}: {len(rep['events'])} held-out events ==")
        for m, d in o.items():
            r = d["times"]
            print(
                f"{m:18s} CSI@0.1 {r['csi@0.1']:.3f} POD {r['pod@0.1']:.3f} FAR "
                f"{r['far@0.1']:.3f} bias {r['bias@0.1']:.2f}  max-map CSI {d['max']['csi@0.1']:.3f}"
            )
        by_dem: dict[str, dict] = {}
        for e in rep["per_event"].values():
            for m in o:
                t = e[m]["times"]
                s = by_dem.setdefault(e["dem_id"], {}).setdefault(m, [0, 0])
                s[0] += t["csi@0.1"] * 1.0
                s[1] += 1
        print("per DEM (mean of event CSI@0.1):")
        for dem, d in by_dem.items():
            print(f"  {dem:15s} " + " ".join(f"{m}={s[0] / s[1]:.3f}" for m, s in d.items()))
        print("coarse physics vs fine (block-averaged):")
        for eid, g in gaps.items():
            print(
                f"  {eid} {g['dem']:15s} volume ratio {g['volume_ratio_coarse_over_fine']:.2f}, "
                f"fine wet cells in dry coarse blocks {g['fine_wet_in_dry_coarse_blocks']:.2f}, "
                f"block depth corr {g['block_depth_corr']:.2f}"
            )
        for m, w in where.items():
            for c, s in w.items():
                hits = s["wet_truth"] - s["misses"]
                csi = hits / max(hits + s["misses"] + s["false_alarms"], 1)
                print(
                    f"  where {m:11s} {c:6s} wet {int(s['wet_truth']):6d} misses "
                    f"{int(s['misses']):6d} false alarms {int(s['false_alarms']):6d} CSI {csi:.3f}"
                )
        out[f"x{f}"] = {"overall": o, "per_dem": by_dem, "physics_gap": gaps, "where": where}
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
