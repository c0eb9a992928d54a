"""Score fine flood maps drawn from a coarse run against the fine solver, beside baselines.

Methods (each: a pair + its ``FineGrid`` -> fine depth [t, y, x]):

* ``all_dry``: the trivial baseline (nothing wet);
* ``nearest``: the coarse depth on each coarse cell's F x F fine cells;
* ``bilinear``: the coarse depth interpolated between coarse cell centres;
* ``bathtub``: coarse water surface (bilinear) minus the fine DEM, where positive and
  connected to the coarse wet area (``simulation.downscale.bathtub_depth``);
* ``volume_fill``: each coarse cell's water volume poured into its own fine cells, lowest
  first (an extra baseline beyond the issue's three; also a model input channel; on
  sub-grid runs their depression storage into its pits first, ``FineGrid.volume_fill``);
* any model, through ``predict.downscale.map_fine``.

Scores at every saved time and on the max-depth map (the maximum over the saved times,
for the label too), and the saved times split into the rain frames and the dry tail
(``rain`` / ``tail``: the recession after the rain, see ``data.downscale``): CSI / POD /
FAR / bias / MCC at each threshold from contingency counts summed per event and over all
events (never averaged per map), and the depth RMSE over all valid cells and over cells
wet (> the first threshold) in either map.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from floodcast.data.downscale import event_split, read_pair
from floodcast.metrics import Contingency, Tally
from floodcast.simulation.downscale import (
    FineGrid,
    upsample_bilinear,
    upsample_nearest,
)
from floodcast.simulation.downscale_rain import frame_rain_inputs

THRESHOLDS_M = (0.1, 0.3)
Method = Callable[[dict, FineGrid], np.ndarray]


def nearest(pair: dict, grid: FineGrid) -> np.ndarray:
    return upsample_nearest(pair["coarse_depth"], grid.factor).astype(np.float32)


def bilinear(pair: dict, grid: FineGrid) -> np.ndarray:
    return (
        np.stack([upsample_bilinear(h, grid.factor) for h in pair["coarse_depth"]])
        .clip(0)
        .astype(np.float32)
    )


def bathtub(pair: dict, grid: FineGrid) -> np.ndarray:
    return np.stack([grid.bathtub(h) for h in pair["coarse_depth"]])


def volume_fill(pair: dict, grid: FineGrid) -> np.ndarray:
    return np.stack([grid.volume_fill(h) for h in pair["coarse_depth"]])


def all_dry(pair: dict, grid: FineGrid) -> np.ndarray:
    return np.zeros_like(pair["fine_depth"])


BASELINES: dict[str, Method] = {
    "all_dry": all_dry,
    "nearest": nearest,
    "bilinear": bilinear,
    "bathtub": bathtub,
    "volume_fill": volume_fill,
}


#: The Tallies of every method: all saved times, the max maps, rain frames, dry tail.
PARTS = ("times", "max", "rain", "tail")


def score_event(pair: dict, grid: FineGrid, methods: dict[str, Method]) -> dict:
    """``{method: {"times": Tally over every saved time, "max": Tally of the max maps,
    "rain" / "tail": Tallies of the rain frames / the dry-tail frames, "per_time": [report
    per saved time]}}`` for one event."""
    truth = pair["fine_depth"]
    n_rain = int(pair.get("rain_frames", len(truth)))
    valid = grid.valid
    out = {}
    for name, fn in methods.items():
        pred = np.asarray(fn(pair, grid), np.float32)
        if pred.shape != truth.shape:
            raise ValueError(f"{name}: map {pred.shape} != fine run {truth.shape}")
        per_time = [Tally(THRESHOLDS_M).add(p, t, valid) for p, t in zip(pred, truth, strict=False)]
        times, rain, tail = Tally(THRESHOLDS_M), Tally(THRESHOLDS_M), Tally(THRESHOLDS_M)
        for k, tl in enumerate(per_time):
            times.merge(tl)
            (rain if k < n_rain else tail).merge(tl)
        out[name] = {
            "times": times,
            "max": Tally(THRESHOLDS_M).add(pred.max(0), truth.max(0), valid),
            "rain": rain,
            "tail": tail,
            "per_time": [tl.report() for tl in per_time],
            "pred_max": pred.max(0),
        }
    return out


def evaluate(
    path,
    factor: int,
    methods: dict[str, Method],
    split: str = "test",
    on_event: Callable[[str, dict], None] | None = None,
) -> dict:
    """Score every ``split`` event of a pairs store; per event and overall reports."""
    events = sorted(e for e, s in event_split(path).items() if s == split)
    if not events:
        raise ValueError(f"{path}: no {split} event")
    overall = {m: {k: Tally(THRESHOLDS_M) for k in PARTS} for m in methods}
    per_event, grids = {}, {}
    for eid in events:
        pair = read_pair(path, eid, factor)
        if pair["dem_id"] not in grids:
            grids[pair["dem_id"]] = FineGrid(
                pair["fine_dem"], pair["cell_size"], factor, coarse_dem=pair["coarse_method"]
            )
        grid = grids[pair["dem_id"]]
        pair["rain_mm"], pair["rain_recent_mmh"] = frame_rain_inputs(
            pair["rain"], pair["interval_s"]
        )
        res = score_event(pair, grid, methods)
        if on_event:
            on_event(eid, {"pair": pair, "grid": grid, "result": res})
        per_event[eid] = {
            "dem_id": pair["dem_id"],
            **{m: {k: r[k].report() for k in PARTS} for m, r in res.items()},
        }
        for m, r in res.items():
            for k in PARTS:
                overall[m][k].merge(r[k])
    return {
        "factor": factor,
        "split": split,
        "events": events,
        "overall": {m: {k: v.report() for k, v in d.items()} for m, d in overall.items()},
        "per_event": per_event,
    }


def where_errors(
    pred_max: np.ndarray, truth_max: np.ndarray, grid: FineGrid, threshold_m: float = 0.1
) -> dict:
    """CSI of one max-depth map split by terrain: steep (slope > 10 %), ponds (more than
    5 cm below a depression's spill level) and the rest; and the share of the truly wet
    cells that are thin films (depth within 5 cm above the threshold) among the misses."""
    from floodcast.io.dem_tools import depression_depth

    gy, gx = np.gradient(np.where(grid.valid, grid.z, np.nanmean(grid.z)), grid.cell_size)
    steep = np.hypot(gy, gx) > 0.10
    pond = depression_depth(grid.z) > 0.05
    classes = {"steep": steep, "ponds": pond & ~steep, "flat": ~steep & ~pond}
    p, t = pred_max > threshold_m, truth_max > threshold_m
    out = {}
    for name, m in classes.items():
        tab = Contingency.from_masks(p, t, m & grid.valid)
        out[name] = {
            "csi": tab.scores()["csi"],
            "wet_truth": tab.hits + tab.misses,
            "misses": tab.misses,
            "false_alarms": tab.false_alarms,
        }
    miss = t & ~p & grid.valid
    thin = miss & (truth_max <= threshold_m + 0.05)
    out["thin_film_share_of_misses"] = float(thin.sum() / max(miss.sum(), 1))
    return out
