"""The flood nowcast's physics on the sub-grid solver: spin-up (or hot start) and every member
from the state, for a downscaler trained on sub-grid pairs or ``--downscale volume-fill``.

The main solver's ensemble advances all members in one batched kernel; the sub-grid solver
(``floodcast.physics.subgrid_run``) runs one member after another from the same state, each
saving its depth at every lead, and the coarse summary is made from those (as the batched
one). ``probability_within`` is over the leads here too: a downscaled nowcast maps the
leads only. States are the sub-grid solver's (``subgrid_state``), under their own
fingerprint, so a plain-solver state is refused and the other way round.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from floodcast.errors import InputError
from floodcast.io.rain import RainSeries
from floodcast.physics.subgrid import SubgridTerrain, subgrid_terrain
from floodcast.physics.subgrid_run import advance_subgrid
from floodcast.predict.flood_nowcast import FloodNowcast, lead_rain_mean, leads_nowcast


def terrain_of(ds) -> SubgridTerrain:
    """The sub-grid terrain of a ``NowcastDownscaler``'s fine DEM (built once, kept on it)."""
    if ds.terrain is None:
        g = ds.grid  # its storage pits are the terrain's (one priority flood per DEM)
        ds.terrain = subgrid_terrain(g.z, ds.factor, g.cell_size, pits=g.pits)
    return ds.terrain


def _series(frames: np.ndarray, t0: float, interval_s: float, source: str) -> RainSeries:
    n = len(frames)
    rates = np.nan_to_num(np.asarray(frames, np.float64))
    return RainSeries(rates, t0 + interval_s * np.arange(n), t0 + n * interval_s, source)


def spin_up_subgrid(
    terrain: SubgridTerrain, frames_mmh, interval_s: float, config, boundaries, state=None
) -> dict:
    """The sub-grid state after ``frames_mmh`` [T, yc, xc] from ``state`` (dry at t = 0)."""
    if len(frames_mmh) == 0:
        if state is None:
            raise InputError("no observed rain to spin up from and no state")
        return state
    t0 = float(state["t"]) if state is not None else 0.0
    rain = _series(frames_mmh, t0, interval_s, "observed radar")
    dur = len(frames_mmh) * interval_s
    return advance_subgrid(terrain, rain, config, boundaries, dur, dur, state)[1]


def run_members_subgrid(
    terrain: SubgridTerrain,
    state: dict,
    forecast_mmh: np.ndarray,
    interval_s: float,
    thresholds: tuple[float, ...],
    config,
    boundaries,
    progress: Callable[[int, int], None] | None = None,
) -> FloodNowcast:
    """Every member of ``forecast_mmh`` [M, K, yc, xc] (NaN -> 0) from ``state`` for K leads;
    the coarse nowcast with its member depths kept (``member_depths`` [M, K, yc, xc]).
    ``progress(done, K)`` after each member, in leads' worth of work."""
    fc = np.asarray(forecast_mmh, np.float64)
    if fc.ndim != 4 or fc.shape[2:] != terrain.shape:
        raise InputError(f"rain forecast {fc.shape} is not [members, leads, {terrain.shape}]")
    m, k_n = fc.shape[:2]
    t_start = time.perf_counter()
    t0 = float(state["t"])
    depths = np.empty((m, k_n) + terrain.shape, np.float32)
    for i in range(m):
        rain = _series(fc[i], t0, interval_s, f"rain member {i}")
        res, _ = advance_subgrid(
            terrain, rain, config, boundaries, k_n * interval_s, interval_s, state
        )
        depths[i] = res.depth
        if progress is not None:
            progress(((i + 1) * k_n) // m, k_n)
    return leads_nowcast(
        (depths[:, k] for k in range(k_n)),
        np.asarray(state["h"], np.float32),
        thresholds,
        interval_s * np.arange(1, k_n + 1, dtype=np.float64),
        rain_mean_mmh=lead_rain_mean(fc, terrain.nvalid > 0),
        members=m,
        state=dict(state),
        wall_s=time.perf_counter() - t_start,
        member_depths=depths,
    )
