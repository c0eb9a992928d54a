"""Fine-grid fields a downscaler reads from a coarse run (no model here:
``floodcast.predict.downscale`` maps them; ``floodcast.simulation.downscale`` runs the solver).

From the coarse depth ``h_c`` and the fine DEM ``z``:

* upsampling: ``upsample_nearest`` (each coarse cell's value on its F x F fine cells) and
  ``upsample_bilinear`` (between coarse cell centres, edges held);
* the coarse water-surface elevation ``z_c + h_c`` (dry cells: their ground) upsampled
  bilinearly, minus ``z``: the "bathtub" depth, kept where positive and connected
  (4-neighbour) to the coarse wet area (``h_c`` > the wet threshold) - ``bathtub_depth``;
* ``volume_fill_depth``: each coarse cell's water volume poured into its own fine cells,
  lowest first (mass-conserving; water gathers in the block's channel or pond);
  ``VolumeFill`` (sub-grid runs: their depression storage into its pits first);
* ``FineGrid.channels``: the model inputs on the fine grid (``CHANNELS``; the two rain
  inputs from ``floodcast.simulation.downscale_rain``).

``FineGrid`` computes everything static once per DEM - flow accumulation, the bilinear
weights, the walls' nearest valid cells, the sorted elevations of every block - so a map
costs two small matrix products, one flood fill and one pass over the blocks, the last two
compiled (profiled 2026-12-02: the per-map ``map_coordinates``, distance transform and
block sort were half of the channel time, the water surface was interpolated twice;
2026-12-07: the bathtub's ``ndimage.label`` and volume fill's NumPy passes were half of
what was left, 0.61 -> 0.29 ms per 128 x 128 map, the same channels bit for bit).

The coarse DEM is the fine one's block mean or block minimum (``COARSE_DEMS``): a block
mean smooths a 2 m channel into its hillslopes, so the coarse run drains slower and puts
water in other blocks; the block minimum keeps the channel's level in every block it
crosses (docs/results/2026-12-02-downscaling-block-min.md). The coarse depth is the block's
water volume per area either way, so volume fill and the channels read it the same.

A factor that does not divide the grid is refused (``check_factor``), never padded.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import ndimage

from floodcast.defaults import DEPTH_SCALE_M, DOWNSCALE_COARSE_DEM, WET_THRESHOLD_M
from floodcast.errors import InputError
from floodcast.simulation.volume_fill import (  # noqa: F401 (re-exported: one import site)
    VolumeFill,
    upsample_nearest,
    volume_fill_depth,
)

#: Model input channels on the fine grid, in order (depths as log1p(d / 5 cm); see ``channels``).
CHANNELS = (
    "coarse_depth",
    "coarse_wse",
    "bathtub_depth",
    "volume_fill",
    "dem",
    "dem_detail",
    "flow_accumulation",
    "pit_depth",
    "rain_accum",
    "rain_recent",
)
DEM_SCALE_M = 5.0  # (z - DEM mean) / 5 m: a fixed scale keeps slopes comparable across DEMs
RAIN_SCALE_MM = 20.0  # rain since the start / 20 mm
RAIN_RATE_SCALE_MMH = 20.0  # recent rain rate / 20 mm/h (simulation.downscale_rain)


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


def block_min_grid(a: np.ndarray, factor: int) -> np.ndarray:
    """NaN-aware minimum of each ``factor`` x ``factor`` block of ``a`` [..., y, x]; walls
    (NaN) where ``block_mean_grid`` has them (fewer than half the block's cells valid)."""
    f = int(factor)
    *lead, ny, nx = a.shape
    b = np.asarray(a, np.float64).reshape(*lead, ny // f, f, nx // f, f)
    m = np.where(np.isfinite(b), b, np.inf).min(axis=(-3, -1))
    m[np.isnan(block_mean_grid(a, f))] = np.nan
    return m.astype(np.float32)


#: The coarse rules a downscaler can be built on: name -> fine [y, x] -> coarse DEM [y/F, x/F].
#: "subgrid" solves on the block minimum with the fine DEM's storage and sills
#: (``floodcast.physics.subgrid``; ``SUBGRID``): its depth is the block volume per area too.
COARSE_DEMS = {"mean": block_mean_grid, "min": block_min_grid, "subgrid": block_min_grid}
SUBGRID = "subgrid"


def coarse_rule(method: str, what: str = "--coarse-dem") -> str:
    """``method`` if it is a rule of ``COARSE_DEMS``, else an InputError naming ``what``."""
    if method not in COARSE_DEMS:
        raise InputError(f"{what} {method!r}: choose one of {', '.join(COARSE_DEMS)}")
    return method


def coarse_grid(elevation: np.ndarray, factor: int, method: str = DOWNSCALE_COARSE_DEM):
    """The coarse DEM of ``method`` (``COARSE_DEMS``); InputError naming the choices."""
    return COARSE_DEMS[coarse_rule(method)](elevation, factor)


def _nearest_valid(bad: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Index of each cell's nearest valid cell (None when all or none are valid)."""
    if not bad.any() or bad.all():
        return None
    return tuple(ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True))


def _fill_nan(a: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(a)
    idx = _nearest_valid(bad)
    return np.where(bad, 0.0, a) if idx is None else a[idx]


def bilinear_weights(n: int, factor: int) -> np.ndarray:
    """[n * factor, n] weights of the fine cell centres between the coarse centres (edges
    held): ``W_y @ a @ W_x.T`` is ``upsample_bilinear(a)`` for a NaN-free ``a``."""
    f = int(factor)
    r = np.clip((np.arange(n * f) + 0.5) / f - 0.5, 0.0, n - 1.0)  # fine centre, coarse units
    i0 = np.minimum(np.floor(r).astype(int), max(n - 2, 0))
    w = r - i0
    out = np.zeros((n * f, n))
    rows = np.arange(n * f)
    out[rows, i0] = 1.0 - w
    np.add.at(out, (rows, np.minimum(i0 + 1, n - 1)), w)
    return out


def upsample_bilinear(a: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear between coarse cell centres onto the fine cell centres of a 2-D ``a``; fine
    cells beyond the outer centres take the edge value; NaN takes its nearest valid value."""
    a = _fill_nan(np.asarray(a, np.float64))
    return bilinear_weights(a.shape[0], factor) @ a @ bilinear_weights(a.shape[1], factor).T


def coarse_wse_fine(zc: np.ndarray, hc: np.ndarray, factor: int) -> np.ndarray:
    """The coarse water surface ``z_c + h_c`` (dry cells: their ground) on the fine grid."""
    return upsample_bilinear(np.asarray(zc, np.float64) + np.nan_to_num(hc), factor)


def _bathtub(z: np.ndarray, wse: np.ndarray, hc: np.ndarray, factor: int, thr: float):
    out = np.zeros(np.shape(z), np.float32)
    h = np.asarray(hc)
    if np.shape(wse) != out.shape or h.shape != (out.shape[0] // factor, out.shape[1] // factor):
        raise ValueError(
            f"bathtub: coarse depth {h.shape} and water surface {np.shape(wse)} do not fit "
            f"the DEM {out.shape} at factor {factor}"
        )
    t = h.dtype.type(thr) if h.dtype.kind == "f" else thr  # compared in h's precision
    _connected_depth(np.asarray(z), np.asarray(wse, np.float64), h, int(factor), t, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _connected_depth(z, wse, hc, f, thr, out):
    """``out`` = wse - z on the cells where it is positive, in the 4-connected regions of
    such cells that hold a cell of a wet coarse cell (``hc`` > ``thr``); a flood fill from
    those cells, each cell visited once (compiled: 5x less time than labelling every
    region with ``ndimage.label`` and keeping the seeded ones)."""
    ny, nx = z.shape
    seen = np.zeros((ny, nx), np.bool_)
    stack = np.empty(ny * nx, np.int64)
    for i0 in range(ny):
        for j0 in range(nx):
            d0 = wse[i0, j0] - np.float64(z[i0, j0])
            if seen[i0, j0] or not (d0 > 0.0 and np.isfinite(d0)):
                continue
            if not hc[i0 // f, j0 // f] > thr:
                continue
            seen[i0, j0] = True
            stack[0], top = i0 * nx + j0, 1
            while top:
                top -= 1
                i, j = divmod(stack[top], nx)
                out[i, j] = np.float32(wse[i, j] - np.float64(z[i, j]))
                for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                    if 0 <= a < ny and 0 <= b < nx and not seen[a, b]:
                        d = wse[a, b] - np.float64(z[a, b])
                        if d > 0.0 and np.isfinite(d):
                            seen[a, b] = True
                            stack[top] = a * nx + b
                            top += 1


def bathtub_depth(
    z: np.ndarray, zc: np.ndarray, hc: np.ndarray, factor: int, threshold_m: float = WET_THRESHOLD_M
) -> np.ndarray:
    """Bathtub downscaling: coarse WSE (bilinear) minus the fine DEM, kept where positive
    and 4-connected to the coarse wet area (coarse depth > ``threshold_m``); 0 elsewhere."""
    return _bathtub(z, coarse_wse_fine(zc, hc, factor), hc, factor, threshold_m)


def _depth_code(d: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(d, 0, None) / DEPTH_SCALE_M)


def depth_decode(code: np.ndarray) -> np.ndarray:
    """Depth (m) from a depth channel's code log1p(d / DEPTH_SCALE_M) (``channels``)."""
    return (np.expm1(np.asarray(code, np.float64)) * DEPTH_SCALE_M).astype(np.float32)


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
        coarse_dem: str = DOWNSCALE_COARSE_DEM,
    ):
        from floodcast.io.dem_tools import contributing_area, depression_code, depression_depth
        from floodcast.physics.subgrid_pits import leaky_pits

        self.factor = f = check_factor(np.shape(elevation), factor, what)
        self.z = np.asarray(elevation, np.float32)
        self.cell_size = float(cell_size)
        self.threshold_m = float(threshold_m)
        self.valid = np.isfinite(self.z)
        self.coarse_dem = coarse_dem
        self.zc = coarse_grid(self.z, f, coarse_dem)
        self._walls = _nearest_valid(~np.isfinite(self.zc))  # coarse walls take a neighbour's WSE
        self._wy, self._wx = (bilinear_weights(n, f) for n in self.zc.shape)
        # one priority flood for the pit channel and, on sub-grid runs, the storage pits
        # that the fill and the sub-grid terrain share (``pits``: None for the other rules)
        depression = depression_depth(self.z)
        self.pits = leaky_pits(self.z, f, depression) if coarse_dem == SUBGRID else None
        self._fill = VolumeFill(self.z, f, self.pits)
        z0 = float(np.nanmean(self.z))
        dem = np.where(self.valid, (self.z - z0) / DEM_SCALE_M, 0.0)
        detail = np.where(self.valid, self.z - upsample_nearest(_fill_nan(self.zc), f), 0.0)
        area = contributing_area(self.z, self.cell_size) * self.cell_size**2
        flow = np.where(self.valid, (np.log10(area) - 4.0) / 2.0, 0.0)
        # depth below the spill level of a closed pit, as data.terrain's depression channel:
        # where the fine run's water stands in a pit, lowest first (volume fill) is right
        self.static = np.stack([dem, detail, flow, depression_code(depression)]).astype(np.float32)

    def wse(self, hc: np.ndarray) -> np.ndarray:
        """``coarse_wse_fine(self.zc, hc)`` from the precomputed weights and walls."""
        a = np.asarray(self.zc, np.float64) + np.nan_to_num(hc)
        a = np.where(np.isnan(a), 0.0, a) if self._walls is None else a[self._walls]
        return self._wy @ a @ self._wx.T

    def bathtub(self, hc: np.ndarray, wse: np.ndarray | None = None) -> np.ndarray:
        w = self.wse(hc) if wse is None else wse
        return _bathtub(self.z, w, hc, self.factor, self.threshold_m)

    def volume_fill(self, hc: np.ndarray) -> np.ndarray:
        return self._fill(hc)

    def channels(
        self,
        hc: np.ndarray,
        rain_mm: np.ndarray | float,
        recent_mmh: np.ndarray | float,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Model input [len(CHANNELS), y, x] float32 from coarse depth ``hc`` [y/F, x/F] (m),
        the rain since the start ``rain_mm`` and the recent rain rate ``recent_mmh`` (fine
        grid or scalars; ``simulation.downscale_rain.rain_inputs``); written into ``out`` if
        given (a caller mapping many times reuses one buffer: a new 20 MB array per map of
        0.5 M cells cost more than computing it, 2026-12-07)."""
        wse = self.wse(hc)
        wse_rel = np.nan_to_num(wse - self.z)  # signed: WSE above the fine ground
        if out is None:
            out = np.empty((len(CHANNELS),) + self.z.shape, np.float32)
        out[0] = _depth_code(upsample_nearest(np.nan_to_num(hc), self.factor))
        out[1] = np.sign(wse_rel) * _depth_code(np.abs(wse_rel))
        out[2] = _depth_code(self.bathtub(hc, wse))
        out[3] = _depth_code(self.volume_fill(hc))
        out[4:8] = self.static
        out[8] = np.asarray(rain_mm, np.float64) / RAIN_SCALE_MM
        out[9] = np.asarray(recent_mmh, np.float64) / RAIN_RATE_SCALE_MMH
        out[:, ~self.valid] = 0.0
        return out
