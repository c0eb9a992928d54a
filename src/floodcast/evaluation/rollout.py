"""Whole-event evaluation on full DEM grids, step by step from the event start.

For the autoregressive formulation this is a rollout: the model's own depth output
becomes the next step's ``prev_depth`` input (never the simulator's), so errors
accumulate as they would in use. The other formulations are scored on the same
frames so the three can be compared side by side.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from floodcast.data import store
from floodcast.data.index import SPLIT_CODES
from floodcast.errors import InputError
from floodcast.metrics import Contingency


def rollout_scores(mapper, data: str, split: str = "test", steps: int | None = None,
                   max_events: int | None = None) -> dict:
    """Per-lead-step and overall contingency tables at the model's wet threshold.

    Args:
        mapper: a ``FloodMapper``; autoregressive when its extras include ``prev_depth``.
        steps: number of radar frames from each event's start (None = all frames).
    Returns:
        {"per_step": {k: Contingency}, "overall": Contingency, "per_event": {ev: Contingency},
         "steps": n, "events": [...], "autoregressive": bool}
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
    n_steps = 0
    for ev in events:
        rain, depth, ea = store.read_event(data, ev)
        did = ea["plan"]["dem_id"]
        if did not in dems:
            z, da = store.read_dem(data, did)
            dems[did] = (z, float(da["cell_size"]))
        z, cell = dems[did]
        interval = float(ea["plan"]["interval_s"])
        n = rain.shape[0] if steps is None else min(steps, rain.shape[0])
        n_steps = max(n_steps, n)
        prev = np.zeros_like(z, dtype=np.float32)
        valid = np.isfinite(z)
        for k in range(n):
            # frames before the event start are zero rain, as in training
            pad = max(0, mapper.frames - (k + 1))
            window = np.concatenate([np.zeros((pad,) + z.shape, np.float32), rain[:k + 1]])
            fm = mapper.predict(window, z, cell, interval, prev_depth=prev if ar else None)
            if ar:
                if fm.depth is None:
                    raise InputError("an autoregressive model needs a depth head (--depth-head)")
                prev = np.clip(fm.depth, 0.0, None).astype(np.float32)
            tab = Contingency.from_masks(fm.wet, depth[k] > mapper.threshold, valid)
            per_step[k].update(tab)
            per_event[ev].update(tab)
    overall = Contingency()
    for t in per_step.values():
        overall.update(t)
    return {"per_step": dict(per_step), "overall": overall, "per_event": dict(per_event),
            "steps": n_steps, "events": events, "autoregressive": ar}


def rollout_table(results: dict[str, dict]) -> list[str]:
    """Markdown: CSI/MCC per formulation overall and over the first and last thirds."""
    lines = ["| formulation | CSI | MCC | bias | CSI first third | CSI last third | events | steps |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        s = r["overall"].scores()
        ks = sorted(r["per_step"])
        third = max(1, len(ks) // 3)
        first = sum((r["per_step"][k] for k in ks[:third]), Contingency()).scores()["csi"]
        last = sum((r["per_step"][k] for k in ks[-third:]), Contingency()).scores()["csi"]
        lines.append(f"| {name} | {s['csi']:.3f} | {s['mcc']:.3f} | {s['bias']:.2f} | {first:.3f} | "
                     f"{last:.3f} | {len(r['events'])} | {r['steps']} |")
    return lines
