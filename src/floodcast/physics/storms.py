"""Synthetic convective storms: moving, growing Gaussian rain cells on a grid.

Used by the demo and tests when no radar is at hand. A storm is a few cells that share
one steering velocity (with a small per-cell spread), each born at a random time, living
30-90 minutes with a sine-shaped intensity life cycle and a footprint that widens as it
ages. Rates are clipped to ``max_mmh`` (realistic convective rain: up to ~80 mm/h).
Everything is drawn from one seeded generator, so a seed fully defines a storm.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from floodcast.io.rain import RainSeries


@dataclass(frozen=True)
class StormConfig:
    """Parameters of :func:`synthetic_storm` (sizes relative to the domain diagonal).

    Attributes:
        n_cells: number of rain cells.
        peak_mmh: (low, high) peak intensity range of a cell (mm/h).
        max_mmh: clip of the summed field (mm/h).
        speed_ms: (low, high) storm steering speed (m/s).
        sigma_frac: (low, high) initial Gaussian width as a fraction of the domain diagonal.
        growth: (low, high) factor by which a cell's width grows over its life.
        life_s: (low, high) cell lifetime (s).
        frame_s: spacing of the output frames (s).
    """

    n_cells: int = 6
    peak_mmh: tuple[float, float] = (25.0, 80.0)
    max_mmh: float = 80.0
    speed_ms: tuple[float, float] = (4.0, 12.0)
    sigma_frac: tuple[float, float] = (0.04, 0.10)
    growth: tuple[float, float] = (1.5, 2.5)
    life_s: tuple[float, float] = (1800.0, 5400.0)
    frame_s: float = 300.0


def synthetic_storm(
    shape: tuple[int, int],
    cell_size: float,
    duration_s: float,
    seed: int = 0,
    config: StormConfig | None = None,
) -> RainSeries:
    """A seeded storm on a ``shape`` grid of ``cell_size`` m cells, frames every ``frame_s``.

    Frame k (rate at the frame's mid-time) holds for ``[k*frame_s, (k+1)*frame_s)``;
    a trailing all-zero frame at ``duration_s`` makes the rain stop (``end_s`` = inf).

    Returns:
        RainSeries with float32 ``rates_mmh`` [t, y, x] in mm/h, row 0 = north.
    """
    cfg = config or StormConfig()
    if duration_s <= 0 or cell_size <= 0:
        raise ValueError("duration_s and cell_size must be positive")
    rng = np.random.default_rng(seed)
    ny, nx = shape
    width, height = nx * cell_size, ny * cell_size
    diag = math.hypot(width, height)
    # one steering wind for the storm system; each cell deviates a little from it
    heading = rng.uniform(0, 2 * math.pi)
    speed = rng.uniform(*cfg.speed_ms)
    cells = []
    for _ in range(cfg.n_cells):
        life = rng.uniform(*cfg.life_s)
        mid = rng.uniform(0.1, 0.8) * duration_s  # time of peak intensity
        h = heading + rng.normal(0, 0.25)
        v = speed * rng.uniform(0.8, 1.2)
        cells.append(
            {
                "birth": mid - life / 2,
                "life": life,
                "peak": rng.uniform(*cfg.peak_mmh),
                "x_mid": rng.uniform(0.15, 0.85) * width,
                "y_mid": rng.uniform(0.15, 0.85) * height,
                "vx": v * math.cos(h),
                "vy": v * math.sin(h),
                "sigma0": rng.uniform(*cfg.sigma_frac) * diag,
                "growth": rng.uniform(*cfg.growth),
            }
        )
    x = (np.arange(nx) + 0.5) * cell_size
    y = (ny - np.arange(ny) - 0.5) * cell_size  # northing: row 0 = north
    n_frames = max(1, math.ceil(duration_s / cfg.frame_s))
    times = np.arange(n_frames) * cfg.frame_s
    rates = np.zeros((n_frames + 1, ny, nx), np.float32)
    for k, t0 in enumerate(times):
        t = min(t0 + cfg.frame_s / 2, duration_s)
        field = np.zeros((ny, nx))
        for c in cells:
            age = (t - c["birth"]) / c["life"]
            if not 0 < age < 1:
                continue
            amp = c["peak"] * math.sin(math.pi * age)
            sig = c["sigma0"] * (1 + (c["growth"] - 1) * age)
            cx = c["x_mid"] + c["vx"] * (t - c["birth"] - c["life"] / 2)
            cy = c["y_mid"] + c["vy"] * (t - c["birth"] - c["life"] / 2)
            gx = np.exp(-0.5 * ((x - cx) / sig) ** 2)
            gy = np.exp(-0.5 * ((y - cy) / sig) ** 2)
            field += amp * np.outer(gy, gx)
        rates[k] = np.clip(field, 0, cfg.max_mmh)
    times = np.append(times, float(duration_s)).astype(np.float64)
    attrs = {
        "generator": "floodcast.physics.storms.synthetic_storm",
        "seed": seed,
        "config": asdict(cfg),
        "notes": [],
    }
    return RainSeries(rates, times, math.inf, f"synthetic storm (seed {seed})", attrs)
