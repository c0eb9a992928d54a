"""Probabilistic flood nowcast with the physics solver: an ensemble of rain nowcasts, each
driving a copy of the observed solver state ahead, summarised as probabilities.

The state at the end of the observed radar (from a state file, or spun up by simulating the
observed frames from a dry start) is copied into M members (:class:`EnsembleSimulation`, one
batched kernel); member m is driven by STEPS member m (or the one deterministic
extrapolation). At every lead (one radar interval apart) the ensemble gives, per depth
threshold, P(depth > threshold) (fraction of members), P(depth exceeded threshold at any step
so far within the lead), and the ensemble mean, median and 90th-percentile depth.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from floodcast.defaults import (
    MAX_STEP_S,
    NOWCAST_LEAD_MIN,
    NOWCAST_MAX_LEAD_MIN,
    NOWCAST_MEMBERS,
    NOWCAST_SCHEDULER,
    NOWCAST_THRESHOLDS_M,
)
from floodcast.errors import InputError
from floodcast.io.rain import RainSeries
from floodcast.physics.boundaries import Boundaries
from floodcast.physics.ensemble import batch_leads, template_simulation
from floodcast.physics.solver import Simulation, SolverConfig
from floodcast.predict.flood_members_dask import dask_leads, parse_scheduler

__all__ = [
    "NOWCAST_LEAD_MIN",
    "NOWCAST_MEMBERS",
    "NOWCAST_THRESHOLDS_M",
    "FloodNowcast",
    "lead_rain_mean",
    "lead_steps",
    "member_summary",
    "run_ensemble",
    "solver_setup",
    "spin_frames",
    "spin_up",
    "valid_time",
]
#: Boundaries of the nowcast solver: water leaves over every edge (as live physics).
NOWCAST_BOUNDARIES = "free"


def solver_setup(
    max_step_s: float = MAX_STEP_S, surface: dict | None = None
) -> tuple[SolverConfig, Boundaries]:
    """The solver settings and boundaries every flood nowcast (and its states) use;
    ``surface``: SolverConfig fields of the land surface (``LandSurface.solver_fields()``)."""
    cfg = SolverConfig(max_step=max_step_s, **(surface or {}))
    return cfg, Boundaries.parse(NOWCAST_BOUNDARIES)


@dataclass
class FloodNowcast:
    """Ensemble summary at each lead (arrays [lead, ...]; thresholds along axis 1)."""

    lead_s: np.ndarray  # [K] seconds after the end of the observation
    thresholds: tuple[float, ...]
    probability: np.ndarray  # [K, J, y, x] fraction of members with depth > threshold
    probability_within: np.ndarray  # [K, J, y, x] ... with depth > threshold at some step <= k
    mean_depth: np.ndarray  # [K, y, x]
    median_depth: np.ndarray  # [K, y, x]
    p90_depth: np.ndarray  # [K, y, x]
    rain_mean_mmh: np.ndarray  # [K] mean forecast rain (members, valid cells) over each lead
    members: int
    depth0: np.ndarray  # [y, x] depth at the end of the observation
    state: dict = field(default_factory=dict)  # solver state at the end of the observation
    wall_s: float = 0.0
    member_depths: np.ndarray | None = None  # [M, K, y, x] when kept

    @property
    def max_probability(self) -> np.ndarray:
        """[J, y, x] the highest probability over all leads."""
        return self.probability.max(0)


def spin_up(
    elevation: np.ndarray,
    cell_size: float,
    frames_mmh: np.ndarray,
    interval_s: float,
    config: SolverConfig,
    boundaries: Boundaries,
    state: dict | None = None,
) -> dict:
    """Solver state after simulating ``frames_mmh`` [T, y, x] (one interval each) from
    ``state`` (dry at t = 0 when None)."""
    frames = np.asarray(frames_mmh, np.float32)
    t0 = float(state["t"]) if state is not None else 0.0
    if len(frames) == 0:
        if state is None:
            raise InputError("no observed rain to spin up from and no state")
        return state
    times = t0 + interval_s * np.arange(len(frames), dtype=np.float64)
    rain = RainSeries(frames, times, t0 + len(frames) * interval_s, "observed radar")
    sim = Simulation(elevation, cell_size, rain, config, boundaries)
    if state is not None:
        sim.load_state_dict(state)
    sim.advance(t0 + len(frames) * interval_s)
    return sim.state_dict()


def member_summary(d: np.ndarray, thresholds: tuple[float, ...]):
    """One lead's member depths [M, y, x] -> (P(depth > each threshold) [J, y, x], the
    members' mean, median and 90th percentile [y, x]): the per-lead summary of every
    nowcast (this ensemble's and the downscaled one's)."""
    prob = np.stack([(d > th).mean(0) for th in thresholds])
    med, p90 = np.percentile(d, [50, 90], axis=0)
    return prob, d.mean(0), med, p90


def leads_nowcast(
    maps, depth0: np.ndarray, thresholds: tuple[float, ...], lead_s: np.ndarray, **fields
) -> FloodNowcast:
    """The nowcast summary of member depths given lead by lead (``maps``: K arrays
    [M, y, x]); ``probability_within`` is over the leads, from ``depth0`` on (the downscaled
    and the sub-grid nowcasts have maps at the leads only). ``fields``: the rest of
    ``FloodNowcast`` (rain_mean_mmh, members, state, wall_s, member_depths)."""
    k_n, thr = len(lead_s), tuple(float(t) for t in thresholds)
    shape = (k_n, len(thr)) + depth0.shape
    prob, within = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    stats = np.zeros((3, k_n) + depth0.shape, np.float32)  # mean, median, p90
    running = None  # max over the leads so far
    for k, d in enumerate(maps):
        running = np.maximum(depth0, d) if running is None else np.maximum(running, d)
        prob[k], stats[0, k], stats[1, k], stats[2, k] = member_summary(d, thr)
        within[k] = np.stack([(running > th).mean(0) for th in thr])
    return FloodNowcast(
        lead_s=lead_s,
        thresholds=thr,
        probability=prob,
        probability_within=within,
        mean_depth=stats[0],
        median_depth=stats[1],
        p90_depth=stats[2],
        depth0=depth0,
        **fields,
    )


def lead_rain_mean(fc: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean rain [K] (mm/h) of forecast ``fc`` [M, K, y, x] over members and ``valid``
    cells at each lead, NaN counted as no rain."""
    return np.array(
        [
            float(np.mean(np.where(np.isfinite(f), f, 0.0)[:, valid]))
            for f in fc.transpose(1, 0, 2, 3)
        ],
        np.float32,
    )


def run_ensemble(
    elevation: np.ndarray,
    cell_size: float,
    state: dict | None,
    forecast_mmh: np.ndarray,
    interval_s: float,
    thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M,
    config: SolverConfig | None = None,
    boundaries: Boundaries | None = None,
    keep_members: bool = False,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str = NOWCAST_SCHEDULER,
) -> FloodNowcast:
    """Drive copies of ``state`` by each member of ``forecast_mmh`` [M, K, y, x] (mm/h, NaN =
    unknown -> 0) for K intervals and summarise the members at every lead.

    ``progress(done, K)`` is called after each lead (all members advance together).
    ``scheduler``: "none" (the batched kernel here) or where Dask runs member chunks
    (:func:`floodcast.predict.flood_members_dask.dask_leads`); the members are the same."""
    fc = np.asarray(forecast_mmh, np.float32)
    if fc.ndim == 3:
        fc = fc[None]
    if fc.ndim != 4 or fc.shape[2:] != np.shape(elevation):
        raise InputError(
            f"rain forecast {fc.shape} must be [members, leads, y, x] on the DEM "
            f"grid {np.shape(elevation)}"
        )
    if config is None or boundaries is None:
        config, boundaries = solver_setup()
    thr = tuple(float(t) for t in thresholds)
    m, k_n = fc.shape[:2]
    t_start = time.perf_counter()
    tmpl = template_simulation(elevation, cell_size, config, boundaries, state)
    depth0 = tmpl.depth
    t0 = float(tmpl.t)
    shape = (k_n, len(thr)) + depth0.shape
    prob = np.zeros(shape, np.float32)
    within = np.zeros(shape, np.float32)
    mean, med, p90 = (np.zeros((k_n,) + depth0.shape, np.float32) for _ in range(3))
    keep = np.zeros((m, k_n) + depth0.shape, np.float32) if keep_members else None
    rain_mean = lead_rain_mean(fc, np.isfinite(np.asarray(elevation)))
    # parsed, not compared: "NONE" or "" mean none too (the Dask path refuses them)
    if parse_scheduler(scheduler)[0] == "none":
        leads = batch_leads(tmpl, fc, t0, interval_s, thr)
    else:
        leads = dask_leads(
            scheduler, elevation, cell_size, state, fc, interval_s, thr, config, boundaries
        )
    for k, (d, wf) in enumerate(leads):
        within[k] = wf
        prob[k], mean[k], med[k], p90[k] = member_summary(d, thr)
        if keep is not None:
            keep[:, k] = d
        if progress is not None:
            progress(k + 1, k_n)
    lead_s = interval_s * np.arange(1, k_n + 1, dtype=np.float64)
    return FloodNowcast(
        lead_s,
        thr,
        prob,
        within,
        mean,
        med,
        p90,
        rain_mean,
        m,
        depth0,
        dict(state) if state is not None else tmpl.state_dict(),
        time.perf_counter() - t_start,
        keep,
    )


def lead_steps(lead_min: float, interval_s: float) -> int:
    """Number of radar intervals in ``lead_min``; InputError unless a whole multiple."""
    if not 0 < lead_min <= NOWCAST_MAX_LEAD_MIN:
        raise InputError(
            f"--lead must be in (0, {NOWCAST_MAX_LEAD_MIN:g}] minutes, got {lead_min:g}"
        )
    n = lead_min * 60.0 / interval_s
    if abs(n - round(n)) > 1e-6 or round(n) < 1:
        raise InputError(
            f"--lead {lead_min:g} min is not a multiple of the radar interval "
            f"({interval_s / 60:g} min)"
        )
    return int(round(n))


def valid_time(t_last, lead_s: float) -> str | None:
    """The time a lead of ``lead_s`` seconds after ``t_last`` is valid at (None without one)."""
    return None if t_last is None else str(t_last + np.timedelta64(int(lead_s), "s"))


def spin_frames(spin_up_h: float, interval_s: float, n_obs: int) -> int:
    """Observed frames used to spin up from dry: the last ``spin_up_h`` hours (all when 0)."""
    if spin_up_h < 0 or not math.isfinite(spin_up_h):
        raise InputError(f"--spin-up must be >= 0 hours, got {spin_up_h}")
    if spin_up_h == 0:
        return n_obs
    return max(1, min(n_obs, int(round(spin_up_h * 3600.0 / interval_s))))
