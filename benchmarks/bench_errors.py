"""Where are a model's errors: on the edges of wet areas, or whole missed wet features?

    python benchmarks/bench_errors.py [--model MODEL.pt] [--data STORE.zarr]

Scores the model on every test event from the event start on whole grids, at the model's
own cut, and splits its errors: false alarms next to a truly wet cell (8-neighbour) or
not; misses next to a predicted wet cell or not; missed cells in wet features
(8-connected) with no predicted wet cell at all. Prints the CSI if every edge error were
fixed (what sharper boundaries alone could reach), then CSI per DEM and per event. Per
DEM it also gives the share of truly wet cells, false alarms and misses that lie in
closed depressions (more than 0.1 m below their spill level, ``depression_depth``): where
pit filling is how a terrain floods, a model that never saw pits misses it.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), bool)
DEPRESSION_M = 0.1  # a cell this far below its spill level lies in a closed depression


def split_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    """Hits, false alarms and misses of one map, with the edge and missed-feature shares."""
    fa, miss = pred & ~truth, truth & ~pred
    out = {
        "hit": int((pred & truth).sum()),
        "fa": int(fa.sum()),
        "miss": int(miss.sum()),
        "fa_edge": int((fa & ndimage.binary_dilation(truth, EIGHT)).sum()),
        "miss_edge": int((miss & ndimage.binary_dilation(pred, EIGHT)).sum()),
        "miss_feature": 0,
    }
    lab, n = ndimage.label(truth, EIGHT)
    if n:
        found = np.asarray(ndimage.maximum(pred, lab, range(1, n + 1))) > 0
        sizes = np.asarray(ndimage.sum(truth, lab, range(1, n + 1)))
        out["miss_feature"] = int(sizes[~found].sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="outputs/budget/state+upslope_area-125min/model.pt")
    ap.add_argument("--data", default="data/dev.zarr")
    a = ap.parse_args()
    import torch

    from floodcast.data import store
    from floodcast.evaluation.rollout import rollout_scores
    from floodcast.io.dem_tools import depression_depth
    from floodcast.predict.mapper import FloodMapper

    torch.set_num_threads(1)
    mp = FloodMapper.load(a.model)
    total: dict[str, int] = {}
    dem_of: dict[str, str] = {}
    pits: dict[str, np.ndarray] = {}  # DEM id -> cells in closed depressions
    in_pits: dict[str, dict[str, int]] = {}  # DEM id -> wet / fa / miss counts in them

    def count(fm, truth: np.ndarray, valid: np.ndarray, event: str) -> None:
        pred, wet = fm.wet & valid, truth & valid
        for key, v in split_errors(pred, wet).items():
            total[key] = total.get(key, 0) + v
        if event not in dem_of:
            dem_of[event] = store.read_event_attrs(a.data, event)["plan"]["dem_id"]
        did = dem_of[event]
        if did not in pits:
            pits[did] = depression_depth(store.read_dem(a.data, did)[0]) > DEPRESSION_M
        c = in_pits.setdefault(did, {})
        for key, m in (("wet", wet), ("fa", pred & ~wet), ("miss", wet & ~pred)):
            c[key] = c.get(key, 0) + int(m.sum())
            c[key + "_pit"] = c.get(key + "_pit", 0) + int((m & pits[did]).sum())

    # scored exactly as the benchmarks score (rollouts for autoregressive models)
    res = rollout_scores(mp, a.data, "test", on_map=count)
    test = res["events"]
    per_event = [(ev, t.hits + t.misses, t.scores()["csi"]) for ev, t in res["per_event"].items()]
    h, f, m = total["hit"], total["fa"], total["miss"]
    print(f"model {a.model} at cut {mp.cut:.3f}; {len(test)} test events")
    print(f"CSI {h / (h + f + m):.3f}: hits {h}, false alarms {f}, misses {m}")
    print(f"false alarms next to a wet cell: {total['fa_edge'] / f:.0%}")
    print(
        f"misses next to a predicted wet cell: {total['miss_edge'] / m:.0%}; in wet features "
        f"with no predicted cell at all: {total['miss_feature'] / m:.0%}"
    )
    fixed = (h + total["miss_edge"]) / (h + f + m - total["fa_edge"])
    print(f"CSI if every edge error were fixed: {fixed:.3f}")
    from floodcast.metrics import Contingency

    per_dem: dict[str, Contingency] = {}
    for ev, tab in res["per_event"].items():
        per_dem.setdefault(dem_of[ev], Contingency()).update(tab)
    print("per DEM (terrains differ in cell size and relief):")
    for dem, t in sorted(per_dem.items()):
        sc = t.scores()
        print(
            f"  {dem}: CSI {sc['csi']:.3f}, bias {sc['bias']:.2f}, wet cell-steps "
            f"{t.hits + t.misses}, events {sum(d == dem for d in dem_of.values())}"
        )
        c = in_pits[dem]
        share = {k: c[k + "_pit"] / c[k] if c[k] else float("nan") for k in ("wet", "fa", "miss")}
        print(
            f"    in closed depressions (> {DEPRESSION_M} m, {pits[dem].mean():.1%} of cells): "
            f"{share['wet']:.0%} of wet cells, {share['fa']:.0%} of false alarms, "
            f"{share['miss']:.0%} of misses"
        )
    print("per event (DEM, wet cell-steps, CSI), largest first:")
    for ev, wet, csi in sorted(per_event, key=lambda r: -r[1]):
        print(f"  {ev}: {dem_of[ev]} {wet} {csi:.3f}")


if __name__ == "__main__":
    main()
