"""Live ensemble flood nowcast for watch mode: one cycle per new radar frame, within budget.

After the live solver (:class:`~floodcast.serve.live.LivePhysics`) has taken in the newest
observed frame, :meth:`LiveEnsemble.cycle` runs STEPS on the recent frames and drives a
copy of the live state per member for the lead (one batched kernel). Native radar is
extrapolated as ``floodcast nowcast --radar`` does it
(:func:`~floodcast.predict.radar_nowcast.radar_nowcast`): on the radar grid around the DEM
plus a margin (:mod:`floodcast.serve.radar_window`), members then regridded onto the DEM;
rain given on the DEM grid is extrapolated there. Rain that is unknown after the
extrapolation (no radar coverage, or from outside the window) drives the solver as 0 mm/h
and its share is reported (``unknown_rain_fraction``), as ``nowcast`` does. Should STEPS
still fail, the cycle falls back to deterministic extrapolation and ``method`` says why. A cycle must finish
within the radar interval or the server falls behind: the member count of the next cycle is
chosen from the measured cost per member of the last one (``budget`` x interval), never
above the requested count and never below one; when it had to run fewer members it says so
(``status()["reduced"]``, for the page and ``/metrics``).

The watcher's wiring (a cycle in the background after each ingested file, the probability
layer on the web map) is :mod:`floodcast.serve.live_cycle`.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from floodcast import defaults
from floodcast.predict.flood_nowcast import (
    NOWCAST_MEMBERS,
    NOWCAST_THRESHOLDS_M,
    FloodNowcast,
    run_ensemble,
)
from floodcast.predict.nowcast import ENSEMBLE_METHODS

log = logging.getLogger("floodcast.serve")

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
        dem=None,
    ):
        """``dem``: the served Dem (grid and CRS), needed to regrid radar-grid members."""
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
        self.dem = dem
        self.steps_s = math.nan  # rain nowcast of the last cycle (STEPS + regridding)
        self.grid = ""  # where the last cycle's STEPS ran
        self.unknown = 0.0  # share of its forecast rain that was unknown (NaN)
        self.fallbacks = 0  # cycles where STEPS failed and extrapolation stood in
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

    def cycle(
        self, history_mmh: np.ndarray, interval_s: float, live=None, radar=None
    ) -> FloodNowcast:
        """One ensemble nowcast from the live state, driven by STEPS on ``radar`` (a
        RadarSequence on the radar grid around the DEM, oldest first) or, without it, on
        ``history_mmh`` [t, y, x] (DEM grid); >= 3 frames, else deterministic extrapolation.

        ``live``: a snapshot of the live solver (``state``, ``t``, ``elevation``,
        ``cell_size``, ``config``) to start from instead of ``self.live``, for a cycle run
        in the background while the live solver goes on."""
        live = self.live if live is None else live
        t0 = time.perf_counter()
        fc = self._rain(history_mmh, radar, self.plan(interval_s), interval_s, live.cell_size)
        self.steps_s = time.perf_counter() - t0
        self.unknown = float(np.isnan(fc).mean()) if fc.size else 0.0
        fc = np.nan_to_num(fc)  # unknown rain drives the solver as 0 mm/h (as nowcast)
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

    def _rain(self, history, radar, m: int, interval_s: float, cell_size: float) -> np.ndarray:
        """Members [m, n_steps, y, x] on the DEM grid (NaN = unknown); sets method, grid."""
        from floodcast.predict.nowcast import extrapolate
        from floodcast.predict.radar_nowcast import MARGIN_KM, radar_nowcast

        seed = self.seed + self.cycles
        ran: dict = {}  # the method that ran (SSEPS may fall back to STEPS members)
        if radar is not None and len(radar.times) >= 2 and self.dem is not None:
            seq = radar.subset(slice(-3, None))
            ny, nx = seq.shape[1:]
            self.grid = f"radar {ny}x{nx} cells of {seq.cell_size:.0f} m"
            n = len(seq.times)

            def run(method: str, members: int) -> np.ndarray:
                args = (self.dem, self.n_steps, method, members, seed, self.flow, MARGIN_KM)
                return radar_nowcast(seq, *args, ran)[1]
        else:
            frames = np.asarray(history, np.float32)[-3:]
            self.grid, n = "DEM", len(frames)

            def run(method: str, members: int) -> np.ndarray:
                return extrapolate(
                    frames, self.n_steps, method=method, n_members=members, seed=seed,
                    flow=self.flow, cell_size_m=cell_size, interval_s=interval_s, report=ran,
                )  # fmt: skip

        method = defaults.ENSEMBLE_METHOD if n >= 3 else "extrapolation"
        try:
            fc = run(method, m)
        except ValueError as exc:  # last resort: a degenerate field STEPS cannot decompose
            if method == "extrapolation":
                raise
            method = f"extrapolation ({method.upper()} failed: {exc})"[:200]
            self.fallbacks += 1
            log.warning("live ensemble on the %s grid: %s", self.grid, method)
            fc = run("extrapolation", 1)
        else:
            method = ran.get("method", method)
        self.method = method
        return np.asarray(fc if fc.ndim == 4 else fc[None], np.float32)

    def status(self) -> dict:
        """Members run, cycle time, real-time factor, and whether members were cut."""
        rtf = (
            self.interval_s / self.cycle_s if self.cycle_s and math.isfinite(self.cycle_s) else None
        )
        return {
            "members_requested": self.requested,
            "members_run": self.members,
            # deterministic extrapolation (2 frames, or STEPS failed) is one member, not a cut
            "reduced": self.method in ENSEMBLE_METHODS and self.members < self.requested,
            "method": self.method,
            "cycle_s": self.cycle_s,
            "steps_s": self.steps_s,  # rain nowcast (STEPS + regridding) part of cycle_s
            "steps_grid": self.grid,
            "unknown_rain_fraction": self.unknown,
            "steps_fallbacks": self.fallbacks,
            "realtime_factor": rtf,
            "cycles": self.cycles,
            "keeps_up": None if rtf is None else bool(rtf > 1.0),
        }


def _boundaries():
    from floodcast.physics.boundaries import Boundaries

    return Boundaries.parse("free")  # as LivePhysics
