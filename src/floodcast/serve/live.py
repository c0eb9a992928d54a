"""Live physics in watch mode: the solver advanced by each radar interval, hot-started.

The solver state (``Simulation.state_dict``) lives in memory between radar frames; the
watcher writes it atomically to its state file after each one (beside its own
bookkeeping, in the same file, so the two never disagree), so a restarted server
resumes where it stopped. From the current state a throw-away copy is driven ahead by the
nowcast rain, giving a physics flood map at each lead time beside the model's.

"Keeps up with real time" means one whole live update (advance one observed interval +
run the nowcast leads) takes less wall time than the radar interval it covers.
"""

from __future__ import annotations

import math
import time

import numpy as np

from floodcast.defaults import MAX_STEP_S, WET_THRESHOLD_M
from floodcast.io.dem import Dem
from floodcast.io.dem_tools import fill_sinks_array as fill_sinks
from floodcast.io.rain import RainSeries
from floodcast.physics.boundaries import Boundaries
from floodcast.physics.solver import Simulation, SolverConfig


class LivePhysics:
    """A hot-started flood simulation on the served DEM, one radar interval at a time."""

    def __init__(
        self,
        dem: Dem,
        threshold_m: float = WET_THRESHOLD_M,
        fill: bool = True,
        max_step_s: float = MAX_STEP_S,
        surface: dict | None = None,
    ):
        """``surface``: per-place physics as SolverConfig fields (``manning``,
        ``infiltration_mmh``, ``drainage_mmh``, ``soil``; numbers or [y, x] grids on the DEM,
        e.g. from ``floodcast.simulation.landcover.land_surface``); part of the state's
        fingerprint, so a saved state is only restored onto the same surface."""
        self.elevation = fill_sinks(dem.elevation) if fill else np.asarray(dem.elevation)
        self.cell_size = float(dem.cell_size)
        self.threshold = float(threshold_m)
        self.config = SolverConfig(max_step=max_step_s, **(surface or {}))
        self.state: dict | None = None
        self.t = 0.0
        self.advance_s = math.nan
        self.update_s = math.nan
        self.interval_s = math.nan
        self.depth = np.zeros(dem.shape, np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The solver state as arrays for an npz (keys prefixed ``phys_``); {} before any step."""
        if self.state is None:
            return {}
        return {f"phys_{k}": np.asarray(v) for k, v in self.state.items()}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Resume from :meth:`to_arrays` output (e.g. read back from disk after a restart)."""
        st = {
            k[5:]: (np.asarray(v).item() if np.ndim(v) == 0 else np.asarray(v))  # str too
            for k, v in arrays.items()
            if k.startswith("phys_")
        }
        if not st:
            return
        if np.shape(st["h"]) != self.elevation.shape:
            raise ValueError(
                f"saved physics state {np.shape(st['h'])} does not match the DEM "
                f"{self.elevation.shape}"
            )
        # the solver's own check (fingerprint, array shapes), run now, not at the next
        # frame: the watcher then starts afresh instead of rejecting every new radar file
        self._simulation(np.zeros((1, *self.elevation.shape), np.float32), 1.0, st)
        self.state = st
        self.t = float(st["t"])
        self.depth = np.asarray(st["h"], np.float32)

    # ------------------------------------------------------------------ stepping
    def _simulation(
        self, rates: np.ndarray, interval_s: float, state: dict | None = None
    ) -> Simulation:
        """A solver holding ``state`` (default: the current one), forced by ``rates``
        [n, y, x] from now on; ValueError when the state belongs to another set-up."""
        state = self.state if state is None else state
        n = rates.shape[0]
        rain = RainSeries(
            np.ascontiguousarray(rates, np.float32),
            self.t + interval_s * np.arange(n, dtype=np.float64),
            math.inf,
            "live radar",
        )
        sim = Simulation(
            self.elevation, self.cell_size, rain, self.config, Boundaries.parse("free")
        )
        if state is not None:
            sim.load_state_dict(state)
        sim.t = self.t
        return sim

    def advance(self, frame_mmh: np.ndarray, interval_s: float) -> np.ndarray:
        """Advance by one observed radar interval; returns the depth (m) at its end."""
        t0 = time.perf_counter()
        sim = self._simulation(np.asarray(frame_mmh, np.float32)[None], interval_s)
        sim.advance(self.t + interval_s)
        self.state = sim.state_dict()
        self.t = sim.t
        self.depth = sim.depth
        self.advance_s = time.perf_counter() - t0
        self.interval_s = float(interval_s)
        return self.depth

    def forecast(self, rain_mmh: np.ndarray, interval_s: float) -> list[np.ndarray]:
        """Depths (m) after each of the nowcast frames ``rain_mmh`` [n, y, x] (state unchanged)."""
        if len(rain_mmh) == 0:
            return []
        sim = self._simulation(np.nan_to_num(np.asarray(rain_mmh, np.float32)), interval_s)
        out = []
        for k in range(1, len(rain_mmh) + 1):
            sim.advance(self.t + k * interval_s)
            out.append(sim.depth)
        return out

    def wet(self, depth: np.ndarray) -> np.ndarray:
        return (depth > self.threshold) & np.isfinite(self.elevation)

    def status(self) -> dict:
        keeps = None if math.isnan(self.update_s) else bool(self.update_s < self.interval_s)
        return {
            "t_s": self.t,
            "advance_s": self.advance_s,
            "update_s": self.update_s,
            "interval_s": self.interval_s,
            "cells": int(self.elevation.size),
            "realtime_factor": (
                self.interval_s / self.update_s
                if self.update_s and not math.isnan(self.update_s)
                else None
            ),
            "keeps_up": keeps,
            "threshold_m": self.threshold,
        }


def realtime_check(
    size: int = 512,
    interval_s: float = 300.0,
    n_intervals: int = 4,
    peak_mmh: float = 60.0,
    seed: int = 0,
) -> dict:
    """Wall time to advance a ``size`` x ``size`` live solver by one radar interval.

    The terrain is matplotlib's Jacksboro DEM resampled to ``size`` x ``size`` cells of
    83 m (a ~42 km domain), sinks filled as the live solver does; the rain is a seeded
    synthetic convective storm (up to ``peak_mmh``). After a first interval (which also
    compiles the kernels), ``n_intervals`` intervals are timed; the slowest one counts,
    since flow (and so the number of steps) grows as the storm goes on.
    """
    from scipy.ndimage import zoom

    from floodcast.io.dem import sample_dem
    from floodcast.physics.storms import StormConfig, synthetic_storm

    src = sample_dem()
    z = np.nan_to_num(src.elevation, nan=float(np.nanmean(src.elevation)))
    z = zoom(z, (size / z.shape[0], size / z.shape[1]), order=1)[:size, :size].astype(np.float32)
    dem = Dem(z, src.cell_size)
    storm = synthetic_storm(
        (size, size),
        dem.cell_size,
        interval_s * (n_intervals + 1),
        seed=seed,
        config=StormConfig(max_mmh=peak_mmh, frame_s=interval_s),
    )
    live = LivePhysics(dem)
    rates = np.asarray(storm.rates_mmh, np.float32)
    walls = []
    for k in range(n_intervals + 1):
        live.advance(rates[min(k, len(rates) - 1)], interval_s)
        if k:
            walls.append(live.advance_s)
    worst = max(walls)
    return {
        "cells": size * size,
        "shape": [size, size],
        "interval_s": interval_s,
        "advance_s": worst,
        "advance_s_all": walls,
        "realtime_factor": interval_s / worst,
        "keeps_up": worst < interval_s,
        "max_depth_m": float(live.depth.max()),
    }
