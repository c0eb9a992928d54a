"""Writers for simulation outputs: NetCDF depth series, GeoTIFF, mass-balance CSV, JSON.

Every writer builds its file under a temporary name beside the target and renames it
when complete (:func:`floodcast.io.atomic.atomic_path`), so readers never see half a file.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.io.atomic import atomic_path
from floodcast.io.dem import Dem

MASS_COLUMNS = (
    "time_s",
    "rain_in_m3",
    "inflow_m3",
    "boundary_out_m3",
    "infiltration_m3",
    "initial_m3",
    "stored_m3",
    "relative_error",
    "clipped_m3",
    "drainage_m3",
)


def grid_coords(dem: Dem) -> tuple[np.ndarray, np.ndarray, str]:
    """Cell-centre x [nx] and y [ny] coordinates (row 0 = north) and their units.

    Georeferenced grids use their CRS coordinates; otherwise local metres from the
    south-west corner (as an ESRI ASCII file with a zero origin would give).
    """
    ny, nx = dem.shape
    if dem.transform is not None:
        t = dem.transform
        x = t.c + t.a * (np.arange(nx) + 0.5)
        y = t.f + t.e * (np.arange(ny) + 0.5)
        units = "degrees" if dem.crs and "4326" in dem.crs else "m"
        return x, y, units
    c = dem.cell_size
    return (np.arange(nx) + 0.5) * c, (ny - np.arange(ny) - 0.5) * c, "m"


def _local_transform(dem: Dem) -> Any:
    from rasterio.transform import Affine

    if dem.transform is not None:
        return dem.transform
    return Affine(dem.cell_size, 0.0, 0.0, 0.0, -dem.cell_size, dem.shape[0] * dem.cell_size)


def _plain(value: Any) -> Any:
    """A JSON/NetCDF-attribute friendly version of ``value``."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_depth_netcdf(
    path: str | os.PathLike,
    times_s: np.ndarray,
    depth: np.ndarray,
    max_depth: np.ndarray,
    dem: Dem,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``depth(time, y, x)`` and ``max_depth(y, x)`` (m) with coords and CRS.

    Args:
        times_s: [n] save times (s from the run start).
        depth: [n, y, x] water depth (m). max_depth: [y, x] (m).
        dem: grid of the run (coords, CRS); its elevation is stored as ``elevation``.
        attrs: global attributes (solver settings…); nested values are stored as JSON.
    """
    import xarray as xr

    depth = np.asarray(depth, np.float32)
    if depth.ndim != 3 or depth.shape[1:] != tuple(dem.shape) or depth.shape[0] != len(times_s):
        raise ValueError(
            f"depth {depth.shape} does not match times {len(times_s)} x DEM {dem.shape}"
        )
    x, y, units = grid_coords(dem)
    ds = xr.Dataset(
        {
            "depth": (("time", "y", "x"), depth, {"units": "m", "long_name": "water depth"}),
            "max_depth": (
                ("y", "x"),
                np.asarray(max_depth, np.float32),
                {"units": "m", "long_name": "maximum water depth over the run"},
            ),
            "elevation": (
                ("y", "x"),
                dem.elevation.astype(np.float32),
                {"units": "m", "long_name": "bed elevation (NaN = wall)"},
            ),
        },
        coords={
            "time": (
                "time",
                np.asarray(times_s, np.float64),
                {"units": "s", "long_name": "time since the run start"},
            ),
            "y": ("y", y, {"units": units}),
            "x": ("x", x, {"units": units}),
        },
    )
    for key, value in (attrs or {}).items():
        value = _plain(value)
        if isinstance(value, bool):  # netCDF attributes have no boolean type
            value = int(value)
        ds.attrs[key] = (
            json.dumps(value) if isinstance(value, (dict, list)) or value is None else value
        )
    ds.attrs["cell_size_m"] = dem.cell_size
    if dem.crs:
        import rioxarray  # noqa: F401  (registers .rio)

        ds = ds.rio.write_crs(dem.crs).rio.write_transform(dem.transform)
        ds.attrs["crs"] = dem.crs
    enc = {v: {"zlib": True, "complevel": 4} for v in ("depth", "max_depth", "elevation")}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=enc)
    return Path(path)


def write_geotiff(
    path: str | os.PathLike,
    array: np.ndarray,
    dem: Dem,
    nodata: float | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Path:
    """Write a single-band float32 GeoTIFF on the DEM grid (georeferenced when the DEM is).

    A DEM without georeferencing gets a local transform (cell size in metres, origin at
    the south-west corner) and no CRS.
    """
    import rasterio

    arr = np.asarray(array, np.float32)
    if arr.shape != tuple(dem.shape):
        raise ValueError(f"array {arr.shape} does not match the DEM grid {dem.shape}")
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": "float32",
        "transform": _local_transform(dem),
        "compress": "deflate",
        "nodata": nodata,
    }
    if dem.crs:
        profile["crs"] = dem.crs
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as ds:
        ds.write(arr, 1)
        if tags:
            ds.update_tags(**{k: str(v) for k, v in tags.items()})
    return Path(path)


def write_mass_csv(path: str | os.PathLike, rows: Iterable[Any]) -> Path:
    """Write mass-balance records (objects or dicts with :data:`MASS_COLUMNS`) as CSV.

    Volumes are m³ since the run start; ``relative_error`` is
    (in - out - change in storage) / (water in).
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MASS_COLUMNS)
        for r in rows:
            get = r.get if isinstance(r, Mapping) else (lambda k, r=r: getattr(r, k, float("nan")))
            w.writerow([f"{float(get(k)):.10g}" for k in MASS_COLUMNS])
    return Path(path)


def write_json(path: str | os.PathLike, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented JSON (numpy values and paths converted)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_plain(data), indent=2) + "\n")
    return Path(path)
