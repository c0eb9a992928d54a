"""Live ensemble flood nowcast for watch mode: one cycle per new radar frame, within budget.

After the live solver (:class:`~floodcast.serve.live.LivePhysics`) has taken in the newest
observed frame, :meth:`LiveEnsemble.cycle` runs STEPS on the recent frames and drives a
copy of the live state per member for the lead (one batched kernel). A cycle must finish
within the radar interval or the server falls behind: the member count of the next cycle is
chosen from the measured cost per member of the last one (``budget`` x interval), never
above the requested count and never below one; when it had to run fewer members it says so
(``status()["reduced"]``, for the page and ``/metrics``).

The watcher's wiring (a cycle in the background after each ingested file, the probability
layer on the web map) is :mod:`floodcast.serve.live_cycle`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from floodcast.predict.flood_nowcast import (
    NOWCAST_MEMBERS,
    NOWCAST_THRESHOLDS_M,
    FloodNowcast,
    run_ensemble,
)

#: Share of the radar interval a live ensemble cycle may take (the rest: ingest, maps, slack).
LIVE_BUDGET = 0.5


class LiveEnsemble:
    """Ensemble cycles on the live solver's state, members adapted to the time budget."""

    def __init__(
        self,
        live,
        members: int = NOWCAST_MEMBERS,
        n_steps: int = 12,
        thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M,
        seed: int = 0,
        budget: float = LIVE_BUDGET,
        flow: str = "lucaskanade",
    ):
        if members < 1 or n_steps < 1:
            raise ValueError(f"members and n_steps must be >= 1, got {members}, {n_steps}")
        self.live = live
        self.requested = int(members)
        self.members = int(members)
        self.n_steps = int(n_steps)
        self.thresholds = tuple(thresholds)
        self.seed = int(seed)
        self.budget = float(budget)
        self.flow = flow
        self.last: FloodNowcast | None = None
        self.cycle_s = math.nan
        self.per_member_s = math.nan
        self.interval_s = math.nan
        self.cycles = 0
        self.method = ""

    def plan(self, interval_s: float) -> int:
        """Members the next cycle can afford: budget / measured seconds per member."""
        if not math.isfinite(self.per_member_s) or self.per_member_s <= 0:
            return self.requested
        fit = int(self.budget * interval_s / self.per_member_s)
        return max(1, min(self.requested, fit))

    def cycle(self, history_mmh: np.ndarray, interval_s: float, live=None) -> FloodNowcast:
        """One ensemble nowcast from the live state, driven by STEPS on ``history_mmh``
        [t, y, x] (DEM grid, oldest first; >= 3 frames, else deterministic extrapolation).

        ``live``: a snapshot of the live solver (``state``, ``t``, ``elevation``,
        ``cell_size``, ``config``) to start from instead of ``self.live``, for a cycle run
        in the background while the live solver goes on."""
        from floodcast.predict.nowcast import extrapolate

        live = self.live if live is None else live
        t0 = time.perf_counter()
        m = self.plan(interval_s)
        frames = np.asarray(history_mmh, np.float32)
        method = "steps" if len(frames) >= 3 else "extrapolation"
        kw = {
            "flow": self.flow,
            "cell_size_m": live.cell_size,
            "interval_s": interval_s,
            "seed": self.seed + self.cycles,
        }
        try:
            fc = extrapolate(frames[-3:], self.n_steps, method=method, n_members=m, **kw)
        except ValueError as exc:  # STEPS' cascade fails on degenerate fields (rain everywhere)
            if method != "steps":
                raise
            method = f"extrapolation (STEPS failed: {exc})"[:200]
            fc = extrapolate(frames[-3:], self.n_steps, method="extrapolation", **kw)
        self.method = method
        fc = np.nan_to_num(fc if fc.ndim == 4 else fc[None])
        state = live.state
        if state is not None:
            state = {**state, "t": float(live.t)}
        res = run_ensemble(
            live.elevation,
            live.cell_size,
            state,
            fc,
            interval_s,
            self.thresholds,
            live.config,
            _boundaries(),
        )
        self.cycle_s = time.perf_counter() - t0
        self.per_member_s = self.cycle_s / fc.shape[0]
        self.members = fc.shape[0]
        self.interval_s = float(interval_s)
        self.cycles += 1
        self.last = res
        return res

    def status(self) -> dict:
        """Members run, cycle time, real-time factor, and whether members were cut."""
        rtf = (
            self.interval_s / self.cycle_s if self.cycle_s and math.isfinite(self.cycle_s) else None
        )
        return {
            "members_requested": self.requested,
            "members_run": self.members,
            # deterministic extrapolation (2 frames, or STEPS failed) is one member, not a cut
            "reduced": self.method == "steps" and self.members < self.requested,
            "method": self.method,
            "cycle_s": self.cycle_s,
            "realtime_factor": rtf,
            "cycles": self.cycles,
            "keeps_up": None if rtf is None else bool(rtf > 1.0),
        }


def _boundaries():
    from floodcast.physics.boundaries import Boundaries

    return Boundaries.parse("free")  # as LivePhysics
