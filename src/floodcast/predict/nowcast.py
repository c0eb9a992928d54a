"""Radar nowcasting with pysteps and flood maps at each lead time.

``extrapolate`` estimates the motion of the latest radar frames by optical flow
(pysteps' Lucas-Kanade by default) and advects the last frame ``n_steps`` ahead
(semi-Lagrangian extrapolation), or runs a seeded STEPS ensemble in dB (or SSEPS, STEPS
with local statistics: :mod:`floodcast.predict.nowcast_sseps`).
``flood_nowcast`` feeds observed + extrapolated frames to a :class:`FloodMapper`
and returns one flood map per lead time; with an ensemble, the probability of
flooding (fraction of members wet) per lead.

No-coverage (NaN) conventions: NaN input is filled (0 mm/h, or -15 dB for STEPS)
for the motion estimate and the forecast, and the output is NaN again where the last
observed frame had no coverage (the radar footprint does not move) and where rain
would have to come from outside the grid (pysteps' ``outval``): "unknown", not "dry".
The flood model cannot take NaN, so ``flood_nowcast`` sets unknown rain to 0 and
reports the unknown fraction per lead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from floodcast import defaults
from floodcast.errors import InputError
from floodcast.predict.mapper import FloodMap, FloodMapper

log = logging.getLogger(__name__)

METHODS = ("extrapolation", "steps", "sseps")
ENSEMBLE_METHODS = ("steps", "sseps")  # seeded ensembles in dB (sseps: localized STEPS)
# fmt: off
FLOW_METHODS = {"lucaskanade": "LK", "lk": "LK", "darts": "DARTS", "proesmans": "proesmans", "vet": "VET"}  # noqa: E501
# fmt: on
DB_THRESHOLD_MMH = defaults.STEPS_THRESHOLD_MMH  # below this rain is "zero" in the dB transform
DB_ZERO = defaults.STEPS_ZERO_DB  # dB value given to zero rain (and to no coverage) for STEPS


def check_ensemble_method(method: str) -> None:
    """An unknown ``--ensemble-method`` is an error naming the option and the valid ones."""
    if method not in ENSEMBLE_METHODS:
        raise InputError(
            f"--ensemble-method must be one of {list(ENSEMBLE_METHODS)}, got {method!r}"
        )


def min_frames(method: str) -> int:
    """Observed frames needed: 2 for optical flow; the AR(2) model of STEPS/SSEPS needs 3."""
    return 3 if method in ENSEMBLE_METHODS else 2


def cascade_levels(shape: tuple[int, ...]) -> int:
    """STEPS cascade levels for a grid: log2(smallest side) - 2, in 1..6 (defaults.py)."""
    return int(np.clip(np.log2(min(shape)) - 2, 1, defaults.STEPS_MAX_CASCADE_LEVELS))


def estimate_motion(frames: np.ndarray, flow: str = "lucaskanade") -> np.ndarray:
    """Motion field [2, y, x] (pixels per frame, (u, v) = (x, y)) from frames [t, y, x].

    Frames must be finite (fill no coverage first). ``flow`` is a pysteps motion method:
    lucaskanade (needs OpenCV), darts, proesmans or vet.
    """
    from pysteps import motion

    key = flow.lower()
    if key not in FLOW_METHODS:
        raise InputError(f"unknown flow method {flow!r}; valid: {sorted(set(FLOW_METHODS))}")
    name = FLOW_METHODS[key]
    if name == "LK":
        try:
            import cv2  # noqa: F401
        except ImportError as exc:  # pysteps' LK is an OpenCV wrapper
            raise InputError(
                "flow 'lucaskanade' needs OpenCV (pip install "
                "opencv-python-headless); or use flow='darts'/'proesmans'"
            ) from exc
    fn = motion.get_method(name)
    if name == "proesmans":
        return np.asarray(fn(frames[-2:]), float)
    if name == "DARTS":
        # DARTS needs N_t < T - 1; with few frames use the smallest temporal order
        return np.asarray(fn(frames, N_t=min(3, max(1, frames.shape[0] - 2))), float)
    return np.asarray(fn(frames), float)


def extrapolate(
    frames_mmh: np.ndarray,
    n_steps: int,
    method: str = "extrapolation",
    n_members: int = 10,
    seed: int | None = 0,
    flow: str = "lucaskanade",
    n_flow_frames: int = 3,
    cell_size_m: float = 1000.0,
    interval_s: float = 300.0,
    n_cascade_levels: int | None = None,
    return_motion: bool = False,
    steps_options: dict | None = None,
    report: dict | None = None,
):
    """Extrapolate the latest radar frames ``n_steps`` ahead with pysteps.

    Args:
        frames_mmh: observed rain [t, y, x] in mm/h, oldest first; NaN = no coverage.
        n_steps: lead times to forecast (each one frame interval).
        method: "extrapolation" (optical flow + semi-Lagrangian advection of the last
            frame, deterministic), "steps" (STEPS ensemble in dB, seeded) or "sseps"
            (SSEPS: STEPS with statistics per local window, same seeding and output).
        n_members: STEPS ensemble size.
        seed: STEPS seed; the same seed gives identical ensembles.
        flow: optical-flow method (see :func:`estimate_motion`).
        n_flow_frames: latest frames used for the motion field (>= 2).
        cell_size_m, interval_s: grid spacing and frame interval (STEPS' velocity
            perturbations and scale decomposition need them).
        n_cascade_levels: STEPS cascade levels (default: log2(cells) - 2, at most 6).
        return_motion: also return the motion field [2, y, x] (pixels per step).
        steps_options: pysteps keywords of the ensemble method overriding
            ``defaults.STEPS_OPTIONS`` (steps) or ``defaults.SSEPS_OPTIONS`` (sseps).
        report: if given, gets ``method``: the one that ran ("steps" where SSEPS failed,
            with ``note`` saying why).

    Returns:
        [n_steps, y, x] (extrapolation) or [n_members, n_steps, y, x] (ensembles) float32
        mm/h, NaN where unknown; with ``return_motion`` a tuple (forecast, motion).
    """
    from pysteps import nowcasts
    from pysteps.utils import transformation

    (report if report is not None else {})["method"] = method
    frames = np.asarray(frames_mmh, float)
    if frames.ndim != 3:
        raise InputError(f"radar frames must be [t, y, x], got shape {frames.shape}")
    if method not in METHODS:
        raise InputError(f"unknown nowcast method {method!r}; valid: {list(METHODS)}")
    need = max(min_frames(method), 2)
    if frames.shape[0] < need:
        raise InputError(f"{method} needs at least {need} observed frames, got {frames.shape[0]}")
    if int(n_steps) < 1:
        raise InputError(f"n_steps must be >= 1, got {n_steps}")
    if min(frames.shape[1:]) < 8:
        raise InputError(f"radar grid {frames.shape[1:]} is too small for optical flow (>= 8x8)")
    if not np.isfinite(frames[-1]).any():
        raise InputError("the last radar frame has no coverage (all NaN)")
    no_cov = ~np.isfinite(frames[-1])
    use = frames[-max(int(n_flow_frames), need) :]

    if method == "extrapolation":
        filled = np.nan_to_num(use, nan=0.0)
        db, _ = transformation.dB_transform(filled, threshold=DB_THRESHOLD_MMH, zerovalue=DB_ZERO)
        # motion on dB (as in pysteps' examples): light rain also carries texture
        velocity = estimate_motion(db, flow)
        fc = nowcasts.get_method("extrapolation")(filled[-1], velocity, int(n_steps))
        fc = np.asarray(fc, np.float32)
        fc[:, no_cov] = np.nan
    else:
        if n_members < 1:
            raise InputError(f"{method} needs n_members >= 1, got {n_members}")
        filled = np.nan_to_num(use, nan=0.0)
        db, _ = transformation.dB_transform(filled, threshold=DB_THRESHOLD_MMH, zerovalue=DB_ZERO)
        velocity = estimate_motion(db, flow)
        thr_db = 10.0 * np.log10(DB_THRESHOLD_MMH)
        if not (db[-1] > thr_db).any():  # no rain to perturb: the ensemble is dry
            fc = np.zeros((n_members, int(n_steps)) + db.shape[1:], np.float32)
        else:
            levels = n_cascade_levels or cascade_levels(db.shape[1:])
            fit = (db, velocity, int(n_steps), int(n_members), seed, thr_db)
            grid = (cell_size_m, interval_s)
            fc_db = None
            if method == "sseps":
                from floodcast.predict.nowcast_sseps import sseps_db

                try:
                    fc_db = sseps_db(*fit, DB_ZERO, levels, *grid, steps_options)
                except InputError as exc:  # a local fit failed where the global one may not
                    note = f"SSEPS failed ({exc}): STEPS members instead"
                    log.warning("%s", note)
                    steps_options = None  # they were SSEPS keywords
                    (report if report is not None else {}).update(method="steps", note=note)
            if fc_db is None:
                from floodcast.predict.nowcast_steps import steps_db

                fc_db = steps_db(*fit, levels, *grid, steps_options)
            fc = _from_db(fc_db, thr_db)
        fc[:, :, no_cov] = np.nan
    return (fc, velocity) if return_motion else fc


def _from_db(fc_db, thr_db: float) -> np.ndarray:
    """Ensemble [M, K, y, x] from dB back to mm/h (float32; below the threshold: 0)."""
    from pysteps.utils import transformation

    fc, _ = transformation.dB_transform(
        np.asarray(fc_db, float), threshold=thr_db, inverse=True, zerovalue=0.0
    )
    return np.asarray(fc, np.float32)


@dataclass
class LeadMap:
    """Flood map at one lead time (deterministic, or the ensemble summary)."""

    lead_steps: int
    lead_s: float
    fmap: FloodMap  # probability = (mean) wet probability; wet = (majority of members) wet
    flood_probability: np.ndarray | None = None  # [y, x] fraction of members wet (ensemble)
    members: list[FloodMap] = field(default_factory=list)
    rain_mean_mmh: float = 0.0
    unknown_rain_fraction: float = 0.0


def flood_nowcast(
    mapper: FloodMapper,
    frames_on_dem: np.ndarray,
    elevation: np.ndarray,
    cell_size: float,
    interval_s: float,
    n_steps: int,
    forecast_on_dem: np.ndarray | None = None,
    method: str = "extrapolation",
    n_members: int = 10,
    seed: int | None = 0,
    flow: str = "lucaskanade",
    prev_depth: np.ndarray | None = None,
    cut: float | None = None,
    keep_members: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[LeadMap]:
    """Flood maps at leads 0..n_steps from observed + extrapolated rain.

    At lead k the model sees the observed frames followed by the first k forecast
    frames (its window is the last ``mapper.frames``; state channels use them all).
    Autoregressive models get their own depth from lead k-1 as ``prev_depth``
    (``prev_depth`` is the state at lead 0).

    Args:
        mapper: a loaded :class:`FloodMapper`.
        frames_on_dem: observed rain [t, y, x] (mm/h) on the DEM grid, oldest first.
        elevation: DEM [y, x] in metres.
        cell_size, interval_s: DEM cell size (m) and frame interval (s).
        n_steps: lead times (frames) ahead.
        forecast_on_dem: a forecast already on the DEM grid ([n_steps, y, x] or
            [members, n_steps, y, x], e.g. extrapolated on the larger radar grid and
            reprojected); None = extrapolate ``frames_on_dem`` here.
        method, n_members, seed, flow: passed to :func:`extrapolate`.
        cut: wet-probability cut of each member (None: the model's calibrated cut).
        keep_members: keep every member's map in ``LeadMap.members``.
        progress: ``progress(done, total)`` after each model map (lead 0, then every
            member at every lead).

    Returns:
        One :class:`LeadMap` per lead 0..n_steps. With an ensemble, ``flood_probability``
        is the fraction of members wet, ``fmap.probability`` the mean member probability
        and ``fmap.wet`` where at least half of the members are wet.
    """
    obs = np.asarray(frames_on_dem, np.float32)
    if obs.ndim != 3 or obs.shape[1:] != elevation.shape:
        raise InputError(f"rain {obs.shape} must be [t, y, x] on the DEM grid {elevation.shape}")
    mapper.check(obs.shape[0], cell_size, interval_s)
    if forecast_on_dem is None:
        fc = extrapolate(
            obs,
            n_steps,
            method=method,
            n_members=n_members,
            seed=seed,
            flow=flow,
            cell_size_m=cell_size,
            interval_s=interval_s,
        )
    else:
        fc = np.asarray(forecast_on_dem, np.float32)
    ensemble = fc.ndim == 4
    if fc.ndim == 3:
        fc = fc[None]
    if fc.ndim != 4 or fc.shape[2:] != elevation.shape or fc.shape[1] < n_steps:
        raise InputError(
            f"forecast {fc.shape} must be [members, >= {n_steps}, y, x] on the "
            f"DEM grid {elevation.shape}"
        )
    obs0 = np.nan_to_num(obs, nan=0.0)
    autoreg = "prev_depth" in mapper.extras
    leads: list[LeadMap] = []
    total = 1 + n_steps * fc.shape[0]
    tick = progress or (lambda _done, _total: None)
    now = mapper.predict(obs0, elevation, cell_size, interval_s, prev_depth=prev_depth, cut=cut)
    tick(1, total)
    leads.append(
        LeadMap(
            0,
            0.0,
            now,
            rain_mean_mmh=float(np.mean(obs0[-1])),
            unknown_rain_fraction=float(np.mean(~np.isfinite(obs[-1]))),
        )
    )
    prev = [prev_depth] * fc.shape[0]
    last = [now] * fc.shape[0]
    for k in range(1, n_steps + 1):
        maps = []
        for m in range(fc.shape[0]):
            rain = np.concatenate([obs0, np.nan_to_num(fc[m, :k], nan=0.0)], 0)
            if autoreg and last[m].depth is not None:
                prev[m] = last[m].depth
            fm = mapper.predict(rain, elevation, cell_size, interval_s, prev_depth=prev[m], cut=cut)
            maps.append(fm)
            tick(1 + (k - 1) * fc.shape[0] + m + 1, total)
        last = maps
        unknown = float(np.mean(~np.isfinite(fc[:, k - 1])))
        rain_mean = float(np.nanmean(fc[:, k - 1])) if np.isfinite(fc[:, k - 1]).any() else 0.0
        if ensemble:
            wet = np.stack([fm.wet for fm in maps])
            pf = wet.mean(0).astype(np.float32)
            depth = np.mean([fm.depth for fm in maps], 0) if maps[0].depth is not None else None
            summary = FloodMap(
                np.mean([fm.probability for fm in maps], 0).astype(np.float32),
                pf >= 0.5,
                depth,
                maps[0].cut,
            )
            leads.append(
                LeadMap(
                    k, k * interval_s, summary, pf, maps if keep_members else [], rain_mean, unknown
                )
            )
        else:
            leads.append(LeadMap(k, k * interval_s, maps[0], None, [], rain_mean, unknown))
    return leads
