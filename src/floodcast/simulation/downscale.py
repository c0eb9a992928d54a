"""Coarse physics for downscaling: the coarse DEM (block mean or block minimum), its check, the coarse run and its
solver settings (the fine-grid fields a downscaler reads live in
``floodcast.simulation.downscale_fields`` and are re-exported here; no model here:
``floodcast.predict.downscale`` maps them).

A coarse run is the solver on the DEM ``F`` times coarser (``COARSE_DEMS``: each block's
mean or lowest elevation), under the fine rain block-averaged (the same rain volume). A
factor that does not divide the grid is refused (``check_factor``), never padded.
"""

from __future__ import annotations

import time

import numpy as np

from floodcast.defaults import DOWNSCALE_COARSE_DEM
from floodcast.errors import InputError
from floodcast.simulation.downscale_fields import (
    CHANNELS,
    COARSE_DEMS,
    DEM_SCALE_M,
    DEPTH_SCALE_M,
    RAIN_SCALE_MM,
    SUBGRID,
    FineGrid,
    bathtub_depth,
    block_mean_grid,
    check_factor,
    coarse_grid,
    coarse_rule,
    coarse_wse_fine,
    depth_decode,
    upsample_bilinear,
    upsample_nearest,
    volume_fill_depth,
)

__all__ = [
    "CHANNELS",
    "COARSE_DEMS",
    "SUBGRID",
    "COARSE_DEM_TOL_M",
    "DEM_SCALE_M",
    "DEPTH_SCALE_M",
    "RAIN_SCALE_MM",
    "FineGrid",
    "bathtub_depth",
    "block_mean_grid",
    "check_coarse_dem",
    "coarse_grid",
    "coarse_rule",
    "depth_decode",
    "check_factor",
    "coarse_config",
    "coarse_dem",
    "coarse_wse_fine",
    "simulate_coarse",
    "simulate_coarse_rule",
    "upsample_bilinear",
    "upsample_nearest",
    "volume_fill_depth",
]

#: Largest |coarse DEM - its rule applied to the fine DEM| (m) accepted as "the same terrain".
COARSE_DEM_TOL_M = 0.01


def coarse_dem(
    elevation: np.ndarray, factor: int, what: str = "DEM", method: str = DOWNSCALE_COARSE_DEM
) -> np.ndarray:
    """The DEM ``factor`` times coarser by ``method`` ("mean" or "min", ``COARSE_DEMS``);
    refuses a factor that does not divide."""
    check_factor(np.shape(elevation), factor, what)
    return coarse_grid(elevation, factor, method)


def check_coarse_dem(
    fine: np.ndarray, coarse: np.ndarray, factor: int, what: str, method: str
) -> None:
    """Raise InputError unless ``coarse`` is ``method``'s coarse DEM of ``fine`` at ``factor``."""
    want = (fine.shape[0] // factor, fine.shape[1] // factor)
    if tuple(coarse.shape) != want or fine.shape[0] % factor or fine.shape[1] % factor:
        raise InputError(
            f"{what}: coarse DEM is {coarse.shape[0]}x{coarse.shape[1]}; the fine "
            f"DEM {fine.shape[0]}x{fine.shape[1]} / {factor} needs "
            f"{fine.shape[0] / factor:g}x{fine.shape[1] / factor:g}"
        )
    ref = coarse_grid(fine, factor, method)
    name = f"block {method}"
    if not np.array_equal(np.isnan(ref), np.isnan(coarse)):
        raise InputError(f"{what}: coarse DEM walls (NaN) differ from the fine DEM's {name}")
    ok = np.isfinite(ref)
    err = float(np.abs(ref[ok] - coarse[ok]).max()) if ok.any() else 0.0
    if err > COARSE_DEM_TOL_M:
        raise InputError(
            f"{what}: coarse DEM differs from the {name} of the fine DEM by up "
            f"to {err:.3f} m (> {COARSE_DEM_TOL_M} m): not the terrain this "
            "downscaler maps from"
        )


def simulate_coarse(
    elevation_c: np.ndarray | None,
    cell_c: float,
    rain_c: np.ndarray,
    interval_s: float,
    solver: dict,
    source: str = "",
    manning: np.ndarray | None = None,
    terrain=None,
) -> dict:
    """Solver run on the coarse grid; depth at the end of every rain frame (as the store).

    ``terrain`` (a ``physics.subgrid.SubgridTerrain``): the sub-grid solver on it instead of
    the main solver on ``elevation_c``. Also the fine rerun of an event with a dry tail
    (``data.downscale``): ``manning`` is a per-cell Manning n grid (the store's raster)
    instead of ``solver["manning"]``."""
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import Simulation, SolverConfig, run, set_threads
    from floodcast.physics.subgrid_run import SUBGRID_VERSION, run_subgrid

    set_threads(int(solver.get("threads", 1)))
    n = rain_c.shape[0]
    series = RainSeries(
        rates_mmh=rain_c, times_s=np.arange(n) * interval_s, end_s=n * interval_s, source=source
    )
    n_cell = manning if manning is not None else float(solver["manning"])
    cfg = SolverConfig(manning=n_cell, max_step=solver["max_step"], cfl=solver.get("cfl", 0.7))
    edges = Boundaries.parse(solver["boundary"])
    t0 = time.perf_counter()
    if terrain is not None:
        res = run_subgrid(terrain, series, cfg, edges, n * interval_s, interval_s)
    else:
        res = run(Simulation(elevation_c, cell_c, series, cfg, edges), n * interval_s, interval_s)
    out = {
        "depth": np.nan_to_num(res.depth, nan=0.0),
        "steps": int(res.steps),
        "wall_time_s": time.perf_counter() - t0,
        "mass_relative_error": float(res.mass[-1].relative_error),
    }
    return out | ({"subgrid_version": SUBGRID_VERSION} if terrain is not None else {})


def simulate_coarse_rule(
    method: str,
    elevation: np.ndarray,
    cell: float,
    factor: int,
    rain_c: np.ndarray,
    interval_s: float,
    solver: dict,
    source: str = "",
    coarse: np.ndarray | None = None,
    pits: np.ndarray | None = None,
) -> dict:
    """The coarse run of rule ``method`` for the fine DEM ``elevation`` (cell ``cell`` m):
    ``simulate_coarse`` on the coarse DEM (``coarse``, else made here) or, for ``SUBGRID``,
    on the sub-grid terrain of the fine DEM's blocks (``pits``: its depression storage,
    ``physics.subgrid_pits.leaky_pits``, if the caller has it, e.g. ``FineGrid.pits``)."""
    if method == SUBGRID:
        from floodcast.physics.subgrid import subgrid_terrain

        terrain = subgrid_terrain(elevation, factor, cell, pits=pits)
        return simulate_coarse(
            None, cell * factor, rain_c, interval_s, solver, source, None, terrain
        )
    zc = coarse if coarse is not None else coarse_dem(elevation, factor, source, method)
    return simulate_coarse(zc, cell * factor, rain_c, interval_s, solver, source)


def coarse_config(config, shape: tuple[int, int], factor: int):
    """The solver settings for the coarse grid: per-cell rasters on the fine grid (Manning n,
    infiltration, drainage) block-averaged; Green-Ampt soil is refused (its state would need
    upscaling rules of its own)."""
    from dataclasses import replace

    if getattr(config, "soil", None) is not None:
        raise InputError(
            "--soil (Green-Ampt) is not supported with --downscale; use "
            "--infiltration or run at the fine cell size"
        )
    changes = {}
    for name in ("manning", "infiltration_mmh", "drainage_mmh"):
        v = getattr(config, name, None)
        if isinstance(v, np.ndarray) and v.ndim == 2:
            if tuple(v.shape) != tuple(shape):
                raise InputError(f"{name} raster {v.shape} is not on the DEM grid {shape}")
            changes[name] = block_mean_grid(v, factor)
    return replace(config, **changes) if changes else config
