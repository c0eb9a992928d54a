"""Whole-event evaluation on full DEM grids, step by step from the event start.

For the autoregressive formulation this is a rollout: the model's own depth output
becomes the next step's ``prev_depth`` input (never the simulator's), so errors
accumulate as they would in use. The other formulations are scored on the same
frames so the three can be compared side by side, and so are the report's baselines
(``GridBaselines``: all-dry, climatology, terrain heuristic, fitted on the training split
exactly as ``floodcast evaluate`` fits them) on the same whole grids, with two more that
need whole grids: the reference storm (``floodcast.data.reference_storm``: the solver's depth
under a uniform storm, read at each cell's rain total, wet above the threshold; nothing
fitted) and the matched storm (the same, on the storm of each cell's own mean rate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from floodcast.data import store
from floodcast.data.index import SPLIT_CODES
from floodcast.data.samples import rain_window
from floodcast.errors import InputError
from floodcast.evaluation.baselines import BASELINES
from floodcast.metrics import Contingency

#: the report's baselines plus the two storm baselines, which need the whole DEM
GRID_BASELINES = BASELINES + ("reference_storm", "matched_storm")

if TYPE_CHECKING:
    from floodcast.predict.mapper import FloodMap


class GridBaselines:
    """The baselines on whole DEM grids: climatology pasted tile by tile, the heuristic
    on (rain since the event start) x (D8 contributing area) of the whole DEM."""

    def __init__(self, data: str, threshold: float, max_train_samples: int = 2000, seed: int = 0):
        from floodcast.data.torchdata import FloodDataset
        from floodcast.evaluation.evaluate import fit_baselines

        train = FloodDataset(data, "train", formulation="original")
        clim, heur, info = fit_baselines(
            train, [threshold], max_train_samples, np.random.default_rng(seed)
        )
        self.clim, self.heur = clim[threshold], heur[threshold]
        self.threshold = float(threshold)
        self.areas: dict[str, np.ndarray] = info["areas"]
        self.patch, self.overlap = int(train.spec["patch"]), int(train.spec["overlap"])

    def predict(
        self, name: str, dem_id: str, z: np.ndarray, cell: float, accum: np.ndarray, time_h: float
    ) -> np.ndarray:
        """Wet mask of baseline ``name`` after rain totals ``accum`` (mm) in ``time_h`` hours."""
        if name == "all_dry":
            return np.zeros(z.shape, bool)
        if name == "climatology":
            from floodcast.data.samples import tiles

            out = np.zeros(z.shape, bool)
            p = self.patch
            for r, c in tiles(z.shape, p, self.overlap):
                out[r : r + p, c : c + p] = self.clim.predict((dem_id, r, c), (p, p))
            return out
        if name == "terrain_heuristic":
            if dem_id not in self.areas:
                from floodcast.io.dem_tools import contributing_area

                self.areas[dem_id] = contributing_area(z, cell)
            return self.heur.predict(accum * self.areas[dem_id])
        if name == "reference_storm":
            from floodcast.data.reference_storm import reference_depth_at, reference_series

            return reference_depth_at(*reference_series(z, cell), accum) > self.threshold
        if name == "matched_storm":
            from floodcast.data.reference_storm import matched_depth_at, matched_series

            return matched_depth_at(matched_series(z, cell), accum, time_h) > self.threshold
        raise ValueError(f"unknown baseline {name!r}; valid: {GRID_BASELINES}")


def rollout_scores(
    mapper,
    data: str,
    split: str = "test",
    steps: int | None = None,
    max_events: int | None = None,
    baselines: GridBaselines | None = None,
    on_map: Callable[[FloodMap, np.ndarray, np.ndarray, str], None] | None = None,
    start: int = 0,
) -> dict:
    """Per-lead-step and overall contingency tables at the model's wet threshold.

    Args:
        mapper: a ``FloodMapper``; autoregressive when its extras include ``prev_depth``.
        steps: number of radar frames scored from ``start`` (None = to the event's end).
        start: first frame scored. 0 is a cold start (dry grid at the event start). With
            ``start > 0`` the rollout is hot-started: an autoregressive model's first
            ``prev_depth`` is the simulator's depth after frame ``start - 1`` (a running
            simulation hands over to the emulator), and ``persistence`` (that depth held
            fixed) joins the baselines, since it is the forecast to beat from a known state.
        baselines: also score these on the same grids and frames.
        on_map: called as ``on_map(flood_map, truth, valid, event_id)`` for every map scored, for
            statistics beyond the contingency tables (``calibrate``, ``bench_errors``).
    Returns:
        {"per_step": {k: Contingency}, "overall": Contingency, "per_event": {ev: Contingency},
         "steps": n, "events": [...], "autoregressive": bool, "interval_s": s,
         "baselines": {name: {"per_step": ..., "overall": ...}}}
    """
    _, attrs = store.read_index(data)
    summary = attrs["summary"]
    events = [e for e, s in summary["splits"].items() if s == split]
    if not events:
        raise InputError(f"{data}: split {split!r} has no events")
    if split not in SPLIT_CODES:
        raise InputError(f"unknown split {split!r}")
    events = sorted(events)[:max_events] if max_events else sorted(events)
    ar = "prev_depth" in mapper.extras
    per_step: dict[int, Contingency] = defaultdict(Contingency)
    per_event: dict[str, Contingency] = defaultdict(Contingency)
    dems: dict[str, tuple] = {}
    names = (GRID_BASELINES + (("persistence",) if start > 0 else ())) if baselines else ()
    base_steps: dict[str, dict[int, Contingency]] = {b: defaultdict(Contingency) for b in names}
    n_steps, interval = 0, None
    for ev in events:
        rain, depth, ea = store.read_event(data, ev)
        did = ea["plan"]["dem_id"]
        if did not in dems:
            z, da = store.read_dem(data, did)
            dems[did] = (z, float(da["cell_size"]))
        z, cell = dems[did]
        interval = float(ea["plan"]["interval_s"])
        accum = np.cumsum(rain, axis=0) * (interval / 3600.0)  # mm since the event start
        if not 0 <= start < rain.shape[0]:
            raise InputError(f"start={start}: event {ev} has frames 0..{rain.shape[0] - 1}")
        end = rain.shape[0] if steps is None else min(start + steps, rain.shape[0])
        n_steps = max(n_steps, end - start)
        # hot start: the simulator's depth before the first scored frame
        prev = (
            np.nan_to_num(depth[start - 1]).astype(np.float32)
            if start > 0
            else np.zeros_like(z, dtype=np.float32)
        )
        held = prev > mapper.threshold
        valid = np.isfinite(z)
        for k in range(start, end):
            # every frame since the start (state channels), zero rain before it, as in training
            window = rain_window(rain, k, max(mapper.frames, k + 1))
            fm = mapper.predict(window, z, cell, interval, prev_depth=prev if ar else None)
            if ar:
                if fm.depth is None:
                    raise InputError("an autoregressive model needs a depth head (--depth-head)")
                prev = np.clip(fm.depth, 0.0, None).astype(np.float32)
            truth = depth[k] > mapper.threshold
            if on_map is not None:
                on_map(fm, truth, valid, ev)
            tab = Contingency.from_masks(fm.wet, truth, valid)
            per_step[k - start].update(tab)
            per_event[ev].update(tab)
            for b, tabs in base_steps.items():
                wet = (
                    held
                    if b == "persistence"
                    else baselines.predict(b, did, z, cell, accum[k], (k + 1) * interval / 3600.0)
                )
                tabs[k - start].update(Contingency.from_masks(wet, truth, valid))
    return {
        "per_step": dict(per_step),
        "overall": _total(per_step),
        "per_event": dict(per_event),
        "steps": n_steps,
        "start": start,
        "events": events,
        "autoregressive": ar,
        "interval_s": interval,
        "baselines": {
            b: {"per_step": dict(t), "overall": _total(t)} for b, t in base_steps.items()
        },
    }


def _total(tables: dict) -> Contingency:
    return sum(tables.values(), Contingency())


def rollout_table(results: dict[str, dict]) -> list[str]:
    """Markdown: CSI/MCC per formulation overall and per hour of the rollout, with the
    baselines (from the first result that carries them) on the same grids below."""
    lines = [
        "| formulation | CSI | MCC | bias | CSI 0-1 h | CSI 1-2 h | events | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = list(results.items())
    base = next((r["baselines"] for r in results.values() if r.get("baselines")), {})
    rows += [(f"baseline: {b}", {**next(iter(results.values())), **v}) for b, v in base.items()]
    for name, r in rows:
        s = r["overall"].scores()
        per_hour = int(round(3600.0 / (r.get("interval_s") or 300.0)))
        ks = sorted(r["per_step"])
        h1 = sum((r["per_step"][k] for k in ks if k < per_hour), Contingency()).scores()["csi"]
        h2 = sum(
            (r["per_step"][k] for k in ks if per_hour <= k < 2 * per_hour), Contingency()
        ).scores()["csi"]
        lines.append(
            f"| {name} | {s['csi']:.3f} | {s['mcc']:.3f} | {s['bias']:.2f} | {h1:.3f} | "
            f"{h2:.3f} | {len(r['events'])} | {r['steps']} |"
        )
    return lines
