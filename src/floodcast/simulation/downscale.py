"""Coarse physics for downscaling: the block-mean grid, the coarse run, and the fine-grid
fields a downscaler reads from it (no model here: ``floodcast.predict.downscale`` maps them).

A coarse run is the solver on the DEM block-averaged ``F`` times coarser, under the fine
rain block-averaged (the same rain volume). From its depth ``h_c`` and the fine DEM ``z``:

* upsampling: ``upsample_nearest`` (each coarse cell's value on its F x F fine cells) and
  ``upsample_bilinear`` (between coarse cell centres, edges held);
* the coarse water-surface elevation ``z_c + h_c`` (dry cells: their ground) upsampled
  bilinearly, minus ``z``: the "bathtub" depth, kept where positive and connected
  (4-neighbour) to the coarse wet area (``h_c`` > the wet threshold) - ``bathtub_depth``;
* ``volume_fill_depth``: each coarse cell's water volume poured into its own fine cells,
  lowest first (mass-conserving; water gathers in the block's channel or pond);
* ``FineGrid.channels``: the model inputs on the fine grid (``CHANNELS``).

A factor that does not divide the grid is refused (``check_factor``), never padded.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage

from floodcast.defaults import WET_THRESHOLD_M
from floodcast.errors import InputError

#: Largest |coarse DEM - block mean of the fine DEM| (m) accepted as "the same terrain".
COARSE_DEM_TOL_M = 0.01
#: Model input channels on the fine grid, in order (depths as log1p(d / 5 cm); see ``channels``).
CHANNELS = (
    "coarse_depth",
    "coarse_wse",
    "bathtub_depth",
    "volume_fill",
    "dem",
    "dem_detail",
    "flow_accumulation",
    "rain_accum",
)
DEPTH_SCALE_M = 0.05  # log1p(d / 5 cm), as floodcast.data.channels.depth_channel
DEM_SCALE_M = 5.0  # (z - DEM mean) / 5 m: a fixed scale keeps slopes comparable across DEMs
RAIN_SCALE_MM = 20.0  # rain since the start / 20 mm


def check_factor(shape: tuple[int, int], factor: int, what: str) -> int:
    """``factor`` as an int >= 2 that divides both sides of ``shape``, else an InputError.

    Refused rather than padded: padding invents terrain at the edge (where water leaves a
    free boundary) and cropping silently drops cells of the map the user asked for.
    """
    try:
        f = int(factor)
    except (TypeError, ValueError):
        raise InputError(f"--coarsen {factor!r}: must be an integer >= 2") from None
    if f != factor or f < 2:
        raise InputError(f"--coarsen {factor!r}: must be an integer >= 2")
    ny, nx = shape
    if ny % f or nx % f:
        raise InputError(
            f"{what}: grid {ny}x{nx} is not divisible by --coarsen {f} "
            f"({ny % f} rows, {nx % f} columns left over); crop it to "
            f"{ny - ny % f}x{nx - nx % f} (refused, not padded)"
        )
    return f


def block_mean_grid(a: np.ndarray, factor: int) -> np.ndarray:
    """NaN-aware mean of each ``factor`` x ``factor`` block of ``a`` [..., y, x]; a block
    with fewer than half its cells valid is NaN (a wall), as ``io.dem_tools.block_mean``."""
    f = int(factor)
    *lead, ny, nx = a.shape
    b = np.asarray(a, np.float64).reshape(*lead, ny // f, f, nx // f, f)
    ok = np.isfinite(b)
    n = ok.sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(ok, b, 0.0).sum(axis=(-3, -1)) / n
    m[n < 0.5 * f * f] = np.nan
    return m.astype(np.float32)


def coarse_dem(elevation: np.ndarray, factor: int, what: str = "DEM") -> np.ndarray:
    """The block-mean DEM ``factor`` times coarser (refuses a factor that does not divide)."""
    check_factor(np.shape(elevation), factor, what)
    return block_mean_grid(elevation, factor)


def check_coarse_dem(fine: np.ndarray, coarse: np.ndarray, factor: int, what: str) -> None:
    """Raise InputError unless ``coarse`` is the block mean of ``fine`` at ``factor``."""
    want = (fine.shape[0] // factor, fine.shape[1] // factor)
    if tuple(coarse.shape) != want or fine.shape[0] % factor or fine.shape[1] % factor:
        raise InputError(
            f"{what}: coarse DEM is {coarse.shape[0]}x{coarse.shape[1]}; the fine "
            f"DEM {fine.shape[0]}x{fine.shape[1]} / {factor} needs "
            f"{fine.shape[0] / factor:g}x{fine.shape[1] / factor:g}"
        )
    ref = block_mean_grid(fine, factor)
    if not np.array_equal(np.isnan(ref), np.isnan(coarse)):
        raise InputError(f"{what}: coarse DEM walls (NaN) differ from the fine DEM's block mean")
    ok = np.isfinite(ref)
    err = float(np.abs(ref[ok] - coarse[ok]).max()) if ok.any() else 0.0
    if err > COARSE_DEM_TOL_M:
        raise InputError(
            f"{what}: coarse DEM differs from the block mean of the fine DEM by up "
            f"to {err:.3f} m (> {COARSE_DEM_TOL_M} m): not the terrain this "
            "downscaler maps from"
        )


def simulate_coarse(
    elevation_c: np.ndarray,
    cell_c: float,
    rain_c: np.ndarray,
    interval_s: float,
    solver: dict,
    source: str = "",
) -> dict:
    """Solver run on the coarse grid; depth at the end of every rain frame (as the store)."""
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import Simulation, SolverConfig, run, set_threads

    set_threads(int(solver.get("threads", 1)))
    n = rain_c.shape[0]
    series = RainSeries(
        rates_mmh=rain_c, times_s=np.arange(n) * interval_s, end_s=n * interval_s, source=source
    )
    cfg = SolverConfig(
        manning=solver["manning"], max_step=solver["max_step"], cfl=solver.get("cfl", 0.7)
    )
    sim = Simulation(elevation_c, cell_c, series, cfg, Boundaries.parse(solver["boundary"]))
    t0 = time.perf_counter()
    res = run(sim, duration_s=n * interval_s, save_every_s=interval_s)
    return {
        "depth": np.nan_to_num(res.depth, nan=0.0),
        "steps": int(res.steps),
        "wall_time_s": time.perf_counter() - t0,
        "mass_relative_error": float(res.mass[-1].relative_error),
    }


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


# --------------------------------------------------------------------------- fine-grid fields


def upsample_nearest(a: np.ndarray, factor: int) -> np.ndarray:
    """Each coarse cell's value on its ``factor`` x ``factor`` fine cells ([..., y, x])."""
    return np.repeat(np.repeat(np.asarray(a), factor, axis=-2), factor, axis=-1)


def _fill_nan(a: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(a)
    if not bad.any() or bad.all():
        return np.where(bad, 0.0, a)
    idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
    return a[tuple(idx)]


def upsample_bilinear(a: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear between coarse cell centres onto the fine cell centres of a 2-D ``a``; fine
    cells beyond the outer centres take the edge value; NaN takes its nearest valid value."""
    f = int(factor)
    a = _fill_nan(np.asarray(a, np.float64))
    ny, nx = a.shape
    rr = (np.arange(ny * f) + 0.5) / f - 0.5  # fine centre in coarse-index units
    cc = (np.arange(nx * f) + 0.5) / f - 0.5
    grid = np.meshgrid(rr, cc, indexing="ij")
    return ndimage.map_coordinates(a, grid, order=1, mode="nearest", prefilter=False)


def coarse_wse_fine(zc: np.ndarray, hc: np.ndarray, factor: int) -> np.ndarray:
    """The coarse water surface ``z_c + h_c`` (dry cells: their ground) on the fine grid."""
    return upsample_bilinear(np.asarray(zc, np.float64) + np.nan_to_num(hc), factor)


def bathtub_depth(
    z: np.ndarray, zc: np.ndarray, hc: np.ndarray, factor: int, threshold_m: float = WET_THRESHOLD_M
) -> np.ndarray:
    """Bathtub downscaling: coarse WSE (bilinear) minus the fine DEM, kept where positive
    and 4-connected to the coarse wet area (coarse depth > ``threshold_m``); 0 elsewhere."""
    d = coarse_wse_fine(zc, hc, factor) - np.asarray(z, np.float64)
    pos = np.isfinite(d) & (d > 0)
    lab, n = ndimage.label(pos)
    seed = upsample_nearest(np.nan_to_num(hc) > threshold_m, factor) & pos
    keep = np.zeros(n + 1, bool)
    keep[np.unique(lab[seed])] = True
    keep[0] = False
    return np.where(keep[lab], d, 0.0).astype(np.float32)


def volume_fill_depth(z: np.ndarray, hc: np.ndarray, factor: int) -> np.ndarray:
    """Each coarse cell's water volume poured into its own F x F fine cells, lowest first,
    up to the level that holds it (mass-conserving per block; walls take no water)."""
    f = int(factor)
    ny, nx = np.shape(z)
    blocks = np.asarray(z, np.float64).reshape(ny // f, f, nx // f, f).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, f * f)
    zs = np.sort(np.where(np.isfinite(blocks), blocks, np.inf), axis=1)  # walls last, never filled
    n_ok = np.isfinite(zs).sum(1)
    vol = np.nan_to_num(np.asarray(hc, np.float64)).reshape(-1) * f * f  # m x fine cells
    k = np.arange(1, f * f + 1)
    with np.errstate(invalid="ignore"):
        level = (vol[:, None] + np.cumsum(np.where(np.isfinite(zs), zs, 0.0), 1)) / k
    nxt = np.concatenate([zs[:, 1:], np.full((len(zs), 1), np.inf)], 1)
    fits = (level <= nxt) & (k[None, :] <= np.maximum(n_ok, 1)[:, None])
    first = np.argmax(fits, axis=1)  # the fewest lowest cells whose common level holds the volume
    lv = np.where(vol > 0, level[np.arange(len(zs)), first], -np.inf)
    lv_fine = np.repeat(np.repeat(lv.reshape(ny // f, nx // f), f, 0), f, 1)
    d = np.where(np.isfinite(z), lv_fine - np.asarray(z, np.float64), 0.0)
    return np.clip(d, 0, None).astype(np.float32)


def _depth_code(d: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(d, 0, None) / DEPTH_SCALE_M)


class FineGrid:
    """Everything on one fine DEM that does not change in time, computed once; its
    ``channels`` turn one coarse depth map (and the rain so far) into the model input."""

    def __init__(
        self,
        elevation: np.ndarray,
        cell_size: float,
        factor: int,
        threshold_m: float = WET_THRESHOLD_M,
        what: str = "DEM",
    ):
        from floodcast.io.dem_tools import contributing_area

        self.factor = check_factor(np.shape(elevation), factor, what)
        self.z = np.asarray(elevation, np.float32)
        self.cell_size = float(cell_size)
        self.threshold_m = float(threshold_m)
        self.valid = np.isfinite(self.z)
        self.zc = block_mean_grid(self.z, self.factor)
        z0 = float(np.nanmean(self.z))
        self.dem = np.where(self.valid, (self.z - z0) / DEM_SCALE_M, 0.0)
        self.detail = np.where(
            self.valid, self.z - upsample_nearest(_fill_nan(self.zc), self.factor), 0.0
        )
        area = contributing_area(self.z, self.cell_size) * self.cell_size**2
        self.flow = np.where(self.valid, (np.log10(area) - 4.0) / 2.0, 0.0)

    def bathtub(self, hc: np.ndarray) -> np.ndarray:
        return bathtub_depth(self.z, self.zc, hc, self.factor, self.threshold_m)

    def channels(self, hc: np.ndarray, rain_mm: np.ndarray | float) -> np.ndarray:
        """Model input [len(CHANNELS), y, x] float32 from coarse depth ``hc`` [y/F, x/F] (m)
        and the rain since the start ``rain_mm`` (fine grid or a scalar)."""
        f = self.factor
        wse_rel = coarse_wse_fine(self.zc, hc, f) - self.z  # signed: WSE above the fine ground
        out = np.stack(
            [
                _depth_code(upsample_nearest(np.nan_to_num(hc), f)),
                np.sign(wse_rel) * _depth_code(np.abs(np.nan_to_num(wse_rel))),
                _depth_code(self.bathtub(hc)),
                _depth_code(volume_fill_depth(self.z, hc, f)),
                self.dem,
                self.detail,
                self.flow,
                np.broadcast_to(np.asarray(rain_mm, np.float64) / RAIN_SCALE_MM, self.z.shape),
            ]
        )
        return np.where(self.valid, out, 0.0).astype(np.float32)
