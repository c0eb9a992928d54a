"""Time per flood map: the emulator against the physics solver on the same area.

- model: one forward pass over the whole area (the registry models are fully
  convolutional and pad to their output stride).
- simulator cold: simulate the event from its start up to the map's time.
- simulator hot: advance an already running simulation by one radar interval.
- storm runs (models with a ``reference_depth`` or ``matched_depth`` channel): the uniform-
  storm simulations such a model needs once per DEM, before its first map of it.
Medians of a few repeats; the machine is noisy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from floodcast.data.reference_storm import run_storms, storm_channels
from floodcast.defaults import MAX_STEP_S


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def synthetic_area(n: int = 512, cell: float = 30.0, seed: int = 0) -> np.ndarray:
    """A rolling valley terrain of n x n cells (m) for speed runs that need no file."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] * cell
    z = 0.002 * yy + 0.01 * np.abs(xx - xx.mean()) + 2.0 * np.sin(xx / 700.0) * np.cos(yy / 900.0)
    return (z + rng.normal(0, 0.05, z.shape)).astype(np.float32)


def time_model(model, in_channels: int, n: int = 512, repeats: int = 3) -> float:
    """Seconds per n x n flood map for one forward pass (after one warm-up)."""
    x = torch.randn(1, in_channels, n, n)
    model.eval()
    with torch.no_grad():
        model(x)
        return _median_time(lambda: model(x), repeats)


def time_simulator(
    elevation: np.ndarray,
    cell_size: float,
    rain_frames: np.ndarray,
    interval_s: float,
    max_step: float = MAX_STEP_S,
    repeats: int = 1,
) -> dict:
    """Cold (event start -> last frame) and hot (one more interval) simulator times (s)."""
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import Simulation, SolverConfig

    n = rain_frames.shape[0]
    series = RainSeries(
        rates_mmh=np.concatenate([rain_frames, rain_frames[-1:]]),
        times_s=np.arange(n + 1) * interval_s,
        end_s=(n + 1) * interval_s,
    )
    cfg = SolverConfig(max_step=max_step)

    def make():
        return Simulation(elevation, cell_size, series, cfg, Boundaries.parse("free"))

    make().advance(interval_s)  # JIT warm-up
    cold = []
    hot = []
    for _ in range(repeats):
        sim = make()
        t0 = time.perf_counter()
        sim.advance(n * interval_s)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sim.advance((n + 1) * interval_s)
        hot.append(time.perf_counter() - t0)
    return {
        "cold_s": float(np.median(cold)),
        "hot_s": float(np.median(hot)),
        "simulated_s": n * interval_s,
        "cells": int(elevation.size),
    }


def speed_table(
    model,
    in_channels: int,
    n: int = 512,
    frames: int = 24,
    interval_s: float = 300.0,
    cell: float = 30.0,
    seed: int = 0,
    channels: Sequence[str] = (),
) -> dict:
    """Model vs simulator on an n x n area under a seeded moving storm. When the model's
    input ``channels`` include storm channels, also time the uniform-storm runs it needs
    once per new DEM (``storm_runs_s``) and the first map of a new DEM against cold."""
    from floodcast.physics.storms import synthetic_storm

    z = synthetic_area(n, cell, seed)
    storm = synthetic_storm((n, n), cell, duration_s=frames * interval_s, seed=seed)
    rain = np.asarray(storm.rates_mmh, np.float32)[:frames]
    sim = time_simulator(z, cell, rain, interval_s)
    t_model = time_model(model, in_channels, n)
    out = {
        "area_cells": f"{n}x{n}",
        "cell_size_m": cell,
        "model_s": t_model,
        **sim,
        "speedup_vs_cold": sim["cold_s"] / t_model,
        "speedup_vs_hot": sim["hot_s"] / t_model,
        "threads": torch.get_num_threads(),
    }
    storms = storm_channels(channels)
    if storms:
        t0 = time.perf_counter()
        run_storms(storms, z, cell, cache=False)
        out["storm_runs_s"] = time.perf_counter() - t0
        out["storm_channels"] = storms
        # a new DEM: the storm runs and the model, against simulating the event
        out["speedup_first_map_vs_cold"] = sim["cold_s"] / (out["storm_runs_s"] + t_model)
    return out
