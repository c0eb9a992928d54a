"""Cut flood events from radar sequences: a space-time window of rain mapped onto a DEM.

An event takes a spatial sub-window of a radar composite with the DEM's physical size
(the storm is transplanted onto the terrain: radar and DEM need not overlap in the
world) and a time window with rain, and regrids that window bilinearly onto the DEM
grid. Choices are seeded, so the same command plans the same events (which makes a
killed build resumable).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from floodcast.errors import InputError


@dataclass(frozen=True)
class EventPlan:
    """Where an event's rain comes from and which DEM it falls on."""

    event_id: str
    dem_id: str
    radar_id: str
    radar_source: str
    t0: int  # first radar frame index
    frames: int  # number of radar frames
    row0: float  # radar window origin (radar cells, fractional)
    col0: float
    rows: float  # radar window size in radar cells
    cols: float
    interval_s: float
    start_time: str  # ISO time of the first frame

    def key(self) -> str:
        """Stable fingerprint of the plan (detects a store built with other settings)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class EventConfig:
    """How many events, how long, how rainy (all seeded)."""

    count: int = 20
    frames: int = 24  # 2 h of 5-min frames
    min_rain_mmh: float = 0.5  # minimum window-mean rain rate (mm/h)
    seed: int = 0
    max_tries: int = 200


def radar_window(
    dem_shape: tuple[int, int], dem_cell: float, radar_cell: float
) -> tuple[float, float]:
    """Size (rows, cols) in radar cells of a window with the DEM's physical size."""
    return dem_shape[0] * dem_cell / radar_cell, dem_shape[1] * dem_cell / radar_cell


def regrid_window(
    rain: np.ndarray, row0: float, col0: float, rows: float, cols: float, shape: tuple[int, int]
) -> np.ndarray:
    """Bilinear samples of ``rain`` [t, Y, X] at the centres of a ``shape`` grid over the window.

    NaN (no coverage) propagates, so callers can reject windows that leave the radar;
    sample points within half a radar cell of the grid edge take the edge value.
    """
    ny, nx = shape
    # centre of DEM cell i maps to radar coordinate row0 + (i + 0.5) * rows / ny - 0.5
    rr = row0 + (np.arange(ny) + 0.5) * rows / ny - 0.5
    cc = col0 + (np.arange(nx) + 0.5) * cols / nx - 0.5
    grid = np.meshgrid(rr, cc, indexing="ij")
    out = np.empty((rain.shape[0], ny, nx), np.float32)
    for t in range(rain.shape[0]):
        out[t] = ndimage.map_coordinates(rain[t], grid, order=1, mode="nearest", prefilter=False)
    return out


def plan_events(
    radars: dict[str, object], dems: dict[str, object], cfg: EventConfig
) -> list[EventPlan]:
    """Draw ``cfg.count`` events over all (radar, DEM) pairs, round-robin, seeded.

    Each radar is an object with ``rain_mmh`` [t, y, x] (NaN = no coverage), ``times``,
    ``cell_size`` (m), ``interval_s`` and ``source``; each DEM has ``elevation`` and
    ``cell_size``. Windows must be fully covered and have window-mean rain of at least
    ``cfg.min_rain_mmh``; pairs that give no such window are reported and skipped.
    """
    if cfg.count < 1:
        raise InputError(f"count={cfg.count}: need at least one event")
    rng = np.random.default_rng(cfg.seed)
    pairs = [(r, d) for r in sorted(radars) for d in sorted(dems)]
    if not pairs:
        raise InputError("no radar sequence or no DEM given")
    plans: list[EventPlan] = []
    dead: set[tuple[str, str]] = set()
    i = 0
    while len(plans) < cfg.count and len(dead) < len(pairs):
        rid, did = pairs[i % len(pairs)]
        i += 1
        if (rid, did) in dead:
            continue
        plan = _draw(rng, rid, radars[rid], did, dems[did], cfg, f"ev{len(plans):05d}")
        if plan is None:
            dead.add((rid, did))
        else:
            plans.append(plan)
    if not plans:
        raise InputError(
            f"no event found: no radar window has mean rain >= {cfg.min_rain_mmh} mm/h over "
            f"{cfg.frames} frames with full coverage (lower --min-rain or --frames)"
        )
    return plans


def _draw(rng, rid, radar, did, dem, cfg: EventConfig, event_id: str) -> EventPlan | None:
    rain = radar.rain_mmh
    nt, ny, nx = rain.shape
    if nt < cfg.frames:
        return None
    rows, cols = radar_window(dem.elevation.shape, dem.cell_size, radar.cell_size)
    if rows > ny or cols > nx:
        return None
    for _ in range(cfg.max_tries):
        t0 = int(rng.integers(0, nt - cfg.frames + 1))
        r0 = float(rng.uniform(0, ny - rows))
        c0 = float(rng.uniform(0, nx - cols))
        block = rain[
            t0 : t0 + cfg.frames,
            int(r0) : int(np.ceil(r0 + rows)) + 1,
            int(c0) : int(np.ceil(c0 + cols)) + 1,
        ]
        if np.isnan(block).any():
            continue
        if float(block.mean()) >= cfg.min_rain_mmh:
            return EventPlan(
                event_id=event_id,
                dem_id=did,
                radar_id=rid,
                radar_source=str(radar.source),
                t0=t0,
                frames=cfg.frames,
                row0=r0,
                col0=c0,
                rows=rows,
                cols=cols,
                interval_s=float(radar.interval_s),
                start_time=str(np.datetime_as_string(np.asarray(radar.times)[t0], unit="s")),
            )
    return None


def event_rain(plan: EventPlan, radar, dem_shape: tuple[int, int]) -> np.ndarray:
    """The event's rain [frames, y, x] (mm/h) on the DEM grid."""
    block = radar.rain_mmh[plan.t0 : plan.t0 + plan.frames]
    out = regrid_window(block, plan.row0, plan.col0, plan.rows, plan.cols, dem_shape)
    if np.isnan(out).any():
        raise InputError(f"event {plan.event_id}: radar window leaves the coverage")
    return np.clip(out, 0.0, None)
