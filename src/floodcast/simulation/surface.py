"""Land-surface inputs of a simulation on the DEM grid: Manning n, infiltration, drainage.

Each is a number (uniform) or a raster file (anything the DEM reader reads: GeoTIFF, ESRI
ASCII, npz). A raster on the DEM grid (same shape, and the same georeferencing if both have
one) is used cell for cell; a georeferenced raster on another grid is resampled onto the DEM
grid by **nearest neighbour** (classes and n values are never averaged). Land cover maps to n
through a ``class,n[,name]`` table (``landcover.py``).

Every check names the file and the first offending cell, and happens before any computing,
so a bad input leaves nothing written.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem, read_dem, same_crs
from floodcast.io.regrid import reproject_to_dem

_TRANSFORM_TOL = 1e-6  # relative tolerance when deciding two grids are the same


def _same_grid(src: Dem, dem: Dem) -> bool:
    if src.shape != dem.shape:
        return False
    if not (src.georeferenced and dem.georeferenced):
        return True  # same shape and at most one georeferenced: taken as the DEM grid
    a, b = tuple(src.transform)[:6], tuple(dem.transform)[:6]
    scale = max(abs(dem.transform.a), abs(dem.transform.e))
    same_t = all(
        abs(x - y) <= _TRANSFORM_TOL * max(scale, abs(y), 1.0) for x, y in zip(a, b, strict=False)
    )
    return same_t and same_crs(src.crs, dem.crs)


def read_on_dem_grid(path: str | Path, dem: Dem, what: str) -> np.ndarray:
    """Read a single-band raster and return it on the DEM grid (float64 [ny, nx], NaN = none).

    Raises:
        InputError: unreadable file, another shape without georeferencing, a CRS that cannot
            be reprojected, or a raster that does not cover the DEM.
    """
    path = Path(path)
    try:
        src = read_dem(path)
    except InputError as exc:
        raise InputError(f"{what} {path}: {str(exc).replace('DEM ', '')}") from None
    if _same_grid(src, dem):
        return np.asarray(src.elevation, dtype=np.float64)
    if not (src.georeferenced and dem.georeferenced):
        which = "the raster" if not src.georeferenced else "the DEM"
        raise InputError(
            f"{what} {path}: grid {src.shape} differs from the DEM grid {dem.shape} and "
            f"{which} has no georeferencing to resample it; give a raster on the DEM grid"
        )
    elevation = np.asarray(src.elevation, dtype=np.float64)
    return reproject_to_dem(elevation, src.transform, src.crs, dem, "nearest", f"{what} {path}")


def _first_bad(bad: np.ndarray, values: np.ndarray) -> str:
    r, c = (int(v) for v in np.argwhere(bad)[0])
    return (
        f"first at cell (row {r}, col {c}) = {float(values[r, c]):.6g}; {int(bad.sum())} such cells"
    )


def check_grid(
    values: np.ndarray, dem: Dem, source: str, what: str, unit: str, allow_zero: bool
) -> np.ndarray:
    """Values must be finite and > 0 (>= 0 if ``allow_zero``) in every valid DEM cell."""
    valid = np.isfinite(dem.elevation)
    missing = valid & ~np.isfinite(values)
    if missing.any():
        raise InputError(
            f"{what} {source}: no value (NaN/nodata or not covered) in a valid "
            f"DEM cell, {_first_bad(missing, values)}"
        )
    bad = valid & ((values < 0) if allow_zero else (values <= 0))
    if bad.any():
        rule = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{what} {source}: must be {rule} {unit}, {_first_bad(bad, values)}")
    return np.where(valid, values, np.nan)


def number_or_grid(
    spec: float | str | Path, dem: Dem, what: str, unit: str, allow_zero: bool
) -> float | np.ndarray:
    """A number (uniform) or a raster file read onto the DEM grid and checked."""
    if isinstance(spec, (int, float)):
        v = float(spec)
    else:
        try:
            v = float(str(spec))
        except ValueError:
            grid = read_on_dem_grid(spec, dem, what)
            return check_grid(grid, dem, str(spec), what, unit, allow_zero)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        raise InputError(f"{what} must be {'>= 0' if allow_zero else '> 0'} {unit}, got {spec}")
    return v


def describe(value: float | np.ndarray) -> float | dict:
    """A JSON-friendly summary of a number or a grid (for run.json)."""
    if np.ndim(value) == 0:
        return float(value)
    v = np.asarray(value, dtype=np.float64)
    v = v[np.isfinite(v)]
    return {
        "grid": list(np.shape(value)),
        "min": float(v.min()),
        "max": float(v.max()),
        "mean": float(v.mean()),
        "distinct": int(np.unique(v).size),
    }
