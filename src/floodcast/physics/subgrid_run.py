"""Runs of the sub-grid solver (``floodcast.physics.subgrid``): the same forcing, settings and
result as the main solver's ``run``, so ``simulate --downscale`` can drive either.

:func:`run_subgrid` takes a ``RainSeries`` on the coarse grid (or uniform), a
``SolverConfig`` (Manning n, a scalar or a coarse raster; cfl; max_step; depth threshold)
and ``Boundaries``, saves the depth (block volume / block area) at the main solver's save
times, records the mass ledger at each save and calls ``progress`` after each, and returns a
``SimulationResult``. What the sub-grid scheme does not model is refused up front by
:func:`check_subgrid` (losses, soil, open nodata, sea, fixed-level edges, theta < 1) rather
than silently dropped. :func:`simulate_subgrid` is an array form (tests, scripts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from floodcast.defaults import SUBGRID_FILM_DEPTH_M, SUBGRID_FILM_ROUGHNESS
from floodcast.errors import InputError
from floodcast.io.rain import RainSeries

from .boundaries import Boundaries
from .mass import MassBalance
from .solver import MMH_TO_MS, SimulationError, SimulationResult, SolverConfig, save_times
from .subgrid import SubgridTerrain, segments

EDGES = ("north", "south", "east", "west")  # the kernel's order of the edge kinds
#: The sub-grid scheme's version, recorded with every stored sub-grid run (downscaling pairs)
#: so pairs of another version are not mixed in: 1 = semi-implicit friction with the slope
#: term in the step (to 2026-12-02), 2 = fully implicit friction, no slope term (2026-12-03),
#: 3 = depression storage in the pits a block would drain (``subgrid_pits``) and the film
#: roughness (``defaults.SUBGRID_FILM_ROUGHNESS``), 2026-12-07; 4 = one discharge per coarse
#: face on its sub-faces' flow area and conveyance, not one per sub-face (2026-12-07).
SUBGRID_VERSION = 4


@dataclass
class Clock:
    """What a ``progress`` callback reads of a run (the main solver passes its Simulation)."""

    t: float = 0.0
    steps: int = 0


def _nonzero(v: Any) -> bool:
    return bool(np.any(np.asarray(v, np.float64) != 0))


def check_subgrid(config: SolverConfig, boundaries: Boundaries, what: str = "sub-grid run"):
    """Raise InputError naming every setting the sub-grid solver does not model; returns the
    edge kinds (N, S, E, W; 1 = free, 0 = closed) the kernel takes."""
    missing = []
    if config.soil is not None:
        missing.append("Green-Ampt soil (--soil)")
    if _nonzero(config.infiltration_mmh):
        missing.append("infiltration")
    if _nonzero(config.drainage_mmh):
        missing.append("drainage")
    if config.nodata != "wall":
        missing.append(f"nodata={config.nodata!r} (only walls)")
    if config.sea_level is not None:
        missing.append("a sea level")
    if config.theta != 1.0:
        missing.append(f"theta={config.theta:g} (only 1)")
    kinds = []
    for side in EDGES:
        kind = getattr(boundaries, side).kind
        if kind not in ("closed", "free"):
            missing.append(f"the {side} edge {kind!r} (only closed or free edges)")
        kinds.append(1 if kind == "free" else 0)
    if missing:
        raise InputError(f"{what}: the sub-grid solver does not model " + "; ".join(missing))
    return np.array(kinds, np.int64)


def run_subgrid(
    terrain: SubgridTerrain,
    rain: RainSeries,
    config: SolverConfig,
    boundaries: Boundaries,
    duration_s: float,
    save_every_s: float,
    progress: Callable[[Clock], None] | None = None,
    save_times_s: list[float] | None = None,
    film_roughness: float = SUBGRID_FILM_ROUGHNESS,
) -> SimulationResult:
    """Run from dry for ``duration_s``, saving every ``save_every_s`` (or at ``save_times_s``)."""
    return advance_subgrid(
        terrain, rain, config, boundaries, duration_s, save_every_s, None, progress,
        save_times_s, film_roughness,
    )[0]  # fmt: skip


def subgrid_state(terrain: SubgridTerrain, t: float, V, qx, qy) -> dict:
    """A hot-start state: the clock, depth ``h`` (block volume / block area, as every floodcast
    state file holds), the sub-face discharges, and a tag the plain solver does not take."""
    a = (terrain.factor * terrain.cell_fine) ** 2
    return {"t": float(t), "h": V / a, "qx": qx.copy(), "qy": qy.copy(), "solver": "subgrid"}


def advance_subgrid(
    terrain: SubgridTerrain,
    rain: RainSeries,
    config: SolverConfig,
    boundaries: Boundaries,
    duration_s: float,
    save_every_s: float,
    state: dict | None = None,
    progress: Callable[[Clock], None] | None = None,
    save_times_s: list[float] | None = None,
    film_roughness: float = SUBGRID_FILM_ROUGHNESS,
) -> tuple[SimulationResult, dict]:
    """``run_subgrid`` from ``state`` (``subgrid_state``; None: dry at t = 0) for
    ``duration_s`` more: (the result, with times on the state's clock, and the new state).
    ``rain`` times are on that clock too; ``save_times_s`` are seconds after the state's
    time (the last ends the run). ``film_roughness``: K of ``defaults.SUBGRID_FILM_ROUGHNESS``
    (1: Manning n at every depth)."""
    from . import subgrid_kernels as SK

    free = check_subgrid(config, boundaries)
    yc, xc = terrain.shape
    r = np.clip(np.nan_to_num(np.asarray(rain.rates_mmh, np.float64)), 0.0, None)  # as the solver
    r = np.broadcast_to(r[:, None, None], (len(r), yc, xc)) if r.ndim == 1 else r
    if r.shape[1:] != (yc, xc):
        raise InputError(f"sub-grid run: rain {rain.source} is {r.shape[1:]}, not ({yc}, {xc})")
    if save_times_s is None:
        saves = np.asarray(save_times(0.0, duration_s, save_every_s), np.float64)
    else:  # seconds after the state's time; the last is the end of the run
        saves = np.asarray(save_times_s, np.float64)
        duration_s = float(saves.max())
    t0 = float(state["t"]) if state is not None else 0.0
    if t0 + duration_s > float(rain.end_s) + 1e-9:
        raise SimulationError(
            f"rain ({rain.source}) ends at {rain.end_s} s, before {t0 + duration_s} s"
        )
    n = np.asarray(config.manning, np.float64)
    if n.ndim and n.shape != (yc, xc):
        raise InputError(f"sub-grid run: Manning raster {n.shape} is not the coarse grid")
    n2 = np.broadcast_to(n**2, (yc, xc)).copy()
    starts = np.asarray(rain.times_s, np.float64) - t0  # the run's clock from 0 on
    ends, frames, saved = segments(starts, float(rain.end_s) - t0, saves)
    rate = np.ascontiguousarray(r * MMH_TO_MS)
    af, f = terrain.cell_fine**2, terrain.factor
    per_s = (rate * (terrain.nvalid * af)).sum((1, 2))  # m3/s of rain in each frame
    dur = np.diff(np.concatenate([[0.0], ends]))
    rained = np.cumsum(np.where(frames >= 0, dur * per_s[np.maximum(frames, 0)], 0.0))
    V = np.zeros((yc, xc))
    qx, qy = np.zeros(terrain.sill_x.shape[1:]), np.zeros(terrain.sill_y.shape[1:])
    if state is not None:
        if state.get("solver") != "subgrid" or np.shape(state["qx"]) != qx.shape:
            raise InputError("sub-grid run: the state is not a sub-grid state of this grid")
        V = np.asarray(state["h"], np.float64) * (f * terrain.cell_fine) ** 2
        qx, qy = (np.array(state[k], np.float64) for k in ("qx", "qy"))
    initial = float(V.sum())
    depth = np.empty((int(saved.sum()), yc, xc), np.float32)
    masses, clock, lost = [], Clock(), 0.0
    dt_min, dt_max, a, t_prev = np.inf, 0.0, 0, 0.0
    wall0 = time.perf_counter()
    for k, b in enumerate(np.flatnonzero(saved)):  # one kernel call per save: progress, ledger
        vols, steps, out, lo, hi = SK.run_segments(
            V, qx, qy, rate, ends[a : b + 1] - t_prev, frames[a : b + 1], saved[a : b + 1],
            terrain.levels, terrain.vol_at, terrain.dead, terrain.nvalid, terrain.sill_x,
            terrain.sill_y,
            n2, free, f * terrain.cell_fine, terrain.cell_fine, float(config.cfl),
            float(config.max_step), float(config.depth_threshold),
            float(film_roughness), SUBGRID_FILM_DEPTH_M,
        )  # fmt: skip
        depth[k] = vols[0] / (f * terrain.cell_fine) ** 2
        lost, clock.steps, clock.t = lost + out, clock.steps + steps, t0 + float(ends[b])
        dt_min, dt_max = min(dt_min, lo), max(dt_max, hi)
        masses.append(MassBalance.from_totals(clock.t, rained[b], 0.0, lost, 0.0, initial, V.sum()))
        a, t_prev = b + 1, float(ends[b])
        if progress is not None:
            progress(clock)
    wall = time.perf_counter() - wall0
    if not np.isfinite(V).all():
        raise SimulationError("sub-grid run: non-finite volumes (NaN/inf in the inputs?)")
    if masses and masses[-1].relative_error > config.max_mass_error:
        raise SimulationError(f"sub-grid run: relative mass error {masses[-1]}")
    res = SimulationResult(
        t0 + ends[saved],
        depth,
        depth.max(0) if len(depth) else np.zeros((yc, xc), np.float32),
        masses,
        clock.steps,
        float(dt_min) if dt_min < 1e299 else float(dt_max),  # every step cut by a save
        float(dt_max),
        wall,
        yc * xc * clock.steps / max(wall, 1e-12),
    )
    return res, subgrid_state(terrain, t0 + float(ends[-1]), V, qx, qy)


def simulate_subgrid(
    terrain: SubgridTerrain,
    rain_mmh: np.ndarray,
    interval_s: float,
    manning: float | np.ndarray,
    boundary: str = "free",
    cfl: float = 0.7,
    max_step: float = 10.0,
    save_times_s: np.ndarray | None = None,
    film_roughness: float = SUBGRID_FILM_ROUGHNESS,
) -> dict:
    """Run from dry under block rain ``rain_mmh`` [T, yc, xc] (mm/h), one frame every
    ``interval_s`` (no rain after the last); depth at the end of every frame, or at
    ``save_times_s``. ``boundary``: a ``Boundaries`` string (only closed and free edges)."""
    rain = np.asarray(rain_mmh, np.float64)
    yc, xc = terrain.shape
    if rain.ndim != 3 or rain.shape[1:] != (yc, xc):
        raise InputError(f"sub-grid run: rain {rain.shape} is not [T, {yc}, {xc}]")
    try:
        edges = Boundaries.parse(boundary)
    except ValueError as e:
        raise InputError(f"sub-grid run: {e}") from None
    nt = rain.shape[0]
    series = RainSeries(  # a dry frame after the last: saves may run past the rain
        np.concatenate([rain, np.zeros((1, yc, xc))]), np.arange(nt + 1) * float(interval_s),
        np.inf, "sub-grid rain",
    )  # fmt: skip
    saves = np.arange(1, nt + 1) * float(interval_s) if save_times_s is None else save_times_s
    cfg = SolverConfig(manning=manning, cfl=cfl, max_step=max_step, max_mass_error=np.inf)
    res = run_subgrid(
        terrain, series, cfg, edges, float(saves[-1]), 1.0, None, list(saves), film_roughness
    )
    last = res.mass[-1]
    return {
        "depth": res.depth,
        "times_s": res.times_s,
        "steps": res.steps,
        "dt_min": res.dt_min,
        "dt_max": res.dt_max,
        "rain_volume_m3": last.rain_in_m3,
        "outflow_volume_m3": last.boundary_out_m3,
        "stored_volume_m3": last.stored_m3,
        "mass_relative_error": last.relative_error,
    }
